/**
 * Fixtures for the reactor contract suite: a reactor per test (stopped in `afterEach`), handlers
 * that record what the reactor delivered, and a few await-able helpers.
 * @module
 */
import { afterEach, beforeEach } from 'vitest'
import type { Endpoint } from '../../../src/server/endpoints/types.js'
import type {
  HttpResponder,
  Listener,
  Reactor,
  ReactorHandlers,
  ReactorOptions,
  ReactorRequest,
  ReactorWebSocket,
  UpgradeResponder,
  WebSocketHandlers,
} from '../../../src/server/reactor/types.js'

/** Builds the reactor under test. */
export type CreateReactor = (options: ReactorOptions) => Reactor | Promise<Reactor>

/** Limits used by every contract test (small, so the limit tests stay fast). */
export const OPTIONS: ReactorOptions = {
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 64 * 1024,
  closeTimeout: 300,
}

/** The reactor of the current test and a `listen` that defaults to TCP on 127.0.0.1:0. */
export interface Harness {
  reactor: Reactor
  listen(
    handlers: Partial<ReactorHandlers>,
    endpoint?: Endpoint,
  ): Promise<Listener & { port: number }>
}

/** Default answers: 404 for HTTP, 403 for upgrades. */
const DEFAULT_HANDLERS: ReactorHandlers = {
  onRequest(_request, response) {
    response.writeHead({ status: 404, headers: [['Content-Type', 'text/plain']] })
    response.end(Buffer.from('not found'))
  },
  onUpgrade(_request, _protocols, upgrade) {
    upgrade.reject({ status: 403, reason: 'Access denied', headers: [] })
  },
}

/** Register before/afterEach hooks; the returned function gives the current test's harness. */
export function useReactor(create: CreateReactor): () => Harness {
  let current: Harness | null = null
  beforeEach(async () => {
    const reactor = await create(OPTIONS)
    current = {
      reactor,
      async listen(handlers, endpoint = { kind: 'tcp', host: '127.0.0.1', port: 0 }) {
        const listener = await reactor.listen(endpoint, { ...DEFAULT_HANDLERS, ...handlers })
        const port =
          listener.address.kind === 'unix' || listener.address.kind === 'fd'
            ? 0
            : listener.address.port
        return Object.assign(listener, { port })
      },
    }
  })
  afterEach(async () => {
    await current?.reactor.stop()
    current = null
  })
  return () => {
    if (current === null) throw new Error('no reactor: call inside a test')
    return current
  }
}

/** Everything a WebSocket connection delivered to the server, in order. */
export interface SocketRecord {
  handlers: WebSocketHandlers
  socket: () => ReactorWebSocket
  events: (
    | { type: 'open' }
    | { type: 'text'; text: string }
    | { type: 'binary'; data: Uint8Array }
    | { type: 'drain' }
    | { type: 'pong' }
    | { type: 'close'; code: number; reason: string }
  )[]
  closes: () => { code: number; reason: string }[]
}

/** Handlers that record every event; `echo` sends each message back. */
export function recordSocket(options: { echo?: boolean } = {}): SocketRecord {
  let socket: ReactorWebSocket | null = null
  const events: SocketRecord['events'] = []
  const handlers: WebSocketHandlers = {
    onOpen(ws) {
      socket = ws
      events.push({ type: 'open' })
    },
    onText(text) {
      events.push({ type: 'text', text })
      if (options.echo) socket?.send(text)
    },
    onBinary(data) {
      events.push({ type: 'binary', data })
      if (options.echo) socket?.send(data)
    },
    onDrain() {
      events.push({ type: 'drain' })
    },
    onPong() {
      events.push({ type: 'pong' })
    },
    onClose(code, reason) {
      events.push({ type: 'close', code, reason })
    },
  }
  return {
    handlers,
    events,
    socket: () => {
      if (socket === null) throw new Error('socket not open yet')
      return socket
    },
    closes: () =>
      events.flatMap((event) =>
        event.type === 'close' ? [{ code: event.code, reason: event.reason }] : [],
      ),
  }
}

/** One HTTP request as the server saw it, and its responder. */
export interface SeenRequest {
  request: ReactorRequest
  response: HttpResponder
}

/** One upgrade as the server saw it. */
export interface SeenUpgrade {
  request: ReactorRequest
  subprotocols: string[]
  upgrade: UpgradeResponder
}

/** Collects requests/upgrades without answering them (the test answers later: deferred). */
export function collector() {
  const requests: SeenRequest[] = []
  const upgrades: SeenUpgrade[] = []
  // Arrow functions, typed as such: tests hand `handlers.onRequest` on by itself.
  const handlers = {
    onRequest: (request: ReactorRequest, response: HttpResponder) =>
      void requests.push({ request, response }),
    onUpgrade: (request: ReactorRequest, subprotocols: string[], upgrade: UpgradeResponder) =>
      void upgrades.push({ request, subprotocols, upgrade }),
  } satisfies ReactorHandlers
  return { requests, upgrades, handlers }
}

/** Collect a responder's whole body; resolves on the `last` chunk. */
export function readBody(response: HttpResponder): Promise<{ body: Buffer; chunks: Uint8Array[] }> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = []
    response.onData((chunk, last) => {
      chunks.push(chunk)
      if (last) resolve({ body: Buffer.concat(chunks), chunks })
    })
  })
}

/** The head of a raw HTTP response (up to the blank line), as latin-1 text. */
export function headOf(data: Buffer): string {
  const end = data.indexOf('\r\n\r\n')
  return data.subarray(0, end === -1 ? data.length : end).toString('latin1')
}

/** The body of a raw HTTP response (after the blank line). */
export function bodyOf(data: Buffer): Buffer {
  const end = data.indexOf('\r\n\r\n')
  return end === -1 ? Buffer.alloc(0) : data.subarray(end + 4)
}

/** Decode a chunked transfer-encoded body. */
export function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = []
  let offset = 0
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset)
    if (lineEnd === -1) throw new Error('truncated chunked body')
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString(), 16)
    if (size === 0) return Buffer.concat(parts)
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size))
    offset = lineEnd + 2 + size + 2
  }
}
