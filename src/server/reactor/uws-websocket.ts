/**
 * uWebSockets.js WebSocket adaptor: the deferred upgrade (the app decides before the handshake),
 * the per-socket user data that points at the server's `WebSocketHandlers` (handlers called with
 * no lookup), and `ReactorWebSocket` over a uWS socket.
 * @module
 */
import type {
  AcceptOptions,
  ReactorWebSocket,
  ResponseHead,
  SendResult,
  UpgradeResponder,
  WebSocketHandlers,
} from './types.js'
import type { UwsContext, UwsHttpResponse, UwsWebSocket, UwsWebSocketBehavior } from './uws-api.js'
import { uwsScope } from './uws-api.js'
import { latin1Bytes, writeHead } from './uws-http.js'
import { safeHead, safeHeaders } from './response-head.js'
import { isSendableCloseCode, truncateCloseReason } from './close-frame.js'
import type { SlotList, Slotted } from '../../util/slot-list.js'

/**
 * What each uWS socket carries: our wrapper, which holds the server's handlers. One property:
 * uWS copies the user data's properties onto its socket object, one C++ call pair each.
 */
export interface UwsUserData {
  socket: UwsSocket
}

/**
 * Text frames and close reasons decode straight from uWS memory: ~55 ns less per message than a
 * Buffer view + toString. `ignoreBOM` keeps a leading U+FEFF as the peer sent it, like toString.
 */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true })

/** uWS `send` results: queued behind unsent data, and (our own) not queued at all. */
const BACKPRESSURE: SendResult = 0
const DROPPED: SendResult = 2

/** What every socket of a behaviour shares: the reactor's send-buffer options. */
export interface UwsSocketLimits {
  /** Queued bytes past which `send` drops messages; 0 = no limit. */
  maxBackpressure: number
  /** How long a closing socket may go without its client reading before it is cut off. */
  closeTimeout: number
}

/** A close held back until the data queued before it is written (see `UwsSocket.close`). */
interface Lingering {
  timer: NodeJS.Timeout
  /** Bytes still queued when the timer was last armed. */
  queued: number
}

/**
 * `ReactorWebSocket` over one uWS socket; every call after close is a no-op. Made when the
 * server accepts, given its uWS socket when that opens.
 *
 * uWS itself is given no send limit: a close frame it would drop over `maxBackpressure` never
 * reaches a slow client, so the limit is kept here, and close frames always get queued.
 */
export class UwsSocket implements ReactorWebSocket, Slotted {
  #ws!: UwsWebSocket<UwsUserData>
  #limits!: UwsSocketLimits
  /** The server was told the connection ended; sends are dropped from then on. */
  closed = false
  /** uWS ran its close handler: the uWS socket must not be touched any more. */
  #gone = false
  /** Index in the reactor's open-socket list. */
  slot = -1
  /** What our own `close()` sent, reported to onClose instead of uWS's view of it. */
  sentClose: { code: number; reason: string } | null = null
  /** The last send was queued behind unsent data: look at the queue before the next one. */
  #pressured = false
  #lingering: Lingering | null = null

  constructor(readonly handlers: WebSocketHandlers) {}

  /** The uWS socket, once open, and the behaviour's limits. */
  attach(ws: UwsWebSocket<UwsUserData>, limits: UwsSocketLimits): void {
    this.#ws = ws
    this.#limits = limits
  }

  send(data: string | Uint8Array): SendResult {
    if (this.closed) return DROPPED
    const ws = this.#ws
    // Only a socket already behind reads its queue: the usual send makes one native call.
    if (this.#pressured) {
      const queued = ws.getBufferedAmount()
      const max = this.#limits.maxBackpressure
      if (max > 0 && queued > max) return DROPPED
      this.#pressured = queued > 0
    }
    // No cork outside a uWS callback either: for one message uWS writes it with the same single
    // syscall, and (unlike HttpResponse) its WebSocket prints no warning for uncorked writes.
    const result = ws.send(data, typeof data !== 'string') as SendResult
    if (result === BACKPRESSURE) this.#pressured = true
    return result
  }

  close(code: number, reason = ''): void {
    if (this.closed) return
    // A code no close frame may carry gets a frame without a status, as the peer will see it.
    this.sentClose = isSendableCloseCode(code)
      ? { code, reason: truncateCloseReason(reason) }
      : { code: 1005, reason: '' }
    const queued = this.#ws.getBufferedAmount()
    // Nothing queued: uWS sends the frame now and runs the close handler synchronously, which
    // marks us closed and tells the server.
    if (queued === 0) return this.#end()
    // uWS would queue the frame behind the data and end the connection once all is written, but
    // with no timeout: a client that never reads would keep the socket and its buffer forever.
    // So the frame waits for the queue to drain (`drained`), and the client must keep reading.
    this.closed = true
    this.#lingering = { queued, timer: setTimeout(this.#checkLingering, this.#limits.closeTimeout) }
    this.handlers.onClose(this.sentClose.code, this.sentClose.reason)
  }

  /** Cut a lingering close off unless its client read something since the last look. */
  readonly #checkLingering = (): void => {
    const lingering = this.#lingering
    if (lingering === null || this.#gone) return
    const queued = this.#ws.getBufferedAmount()
    if (queued < lingering.queued) {
      lingering.queued = queued
      lingering.timer = setTimeout(this.#checkLingering, this.#limits.closeTimeout)
    } else {
      this.#ws.close()
    }
  }

  /** uWS wrote some of the queue; a lingering close goes out once all of it is written. */
  drained(): void {
    if (this.#lingering !== null && this.#ws.getBufferedAmount() === 0) this.#end()
  }

  #end(): void {
    const { code, reason } = this.sentClose!
    if (code === 1005) this.#ws.end()
    else this.#ws.end(code, reason)
  }

  /** uWS's close handler ran: the socket is gone; tell the server unless it already knows. */
  ended(code: number, message: ArrayBuffer): void {
    this.#gone = true
    if (this.#lingering !== null) clearTimeout(this.#lingering.timer)
    this.#lingering = null
    if (this.closed) return
    this.closed = true
    const sent = this.sentClose
    if (sent) this.handlers.onClose(sent.code, sent.reason)
    // Most close frames carry no reason: skip the decode for those.
    else this.handlers.onClose(code, message.byteLength === 0 ? '' : decodeReason(message))
  }

  terminate(): void {
    // Also cuts off a lingering close (`stop()` terminates every socket still in the list).
    if (!this.#gone) this.#ws.close()
  }

  ping(): void {
    if (!this.closed) this.#ws.ping()
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.#ws.getBufferedAmount()
  }

  cork(fn: () => void): void {
    if (this.closed) return fn()
    uwsScope.depth++
    try {
      this.#ws.cork(fn)
    } finally {
      uwsScope.depth--
    }
  }
}

/** Accept headers ready for `writeHeader`: names, and values as uWS-safe latin-1. */
type WireHeaders = readonly (readonly [string, string | Uint8Array])[]

const NO_HEADERS: WireHeaders = []

/** The last frozen header list converted, and its result (the server shares one per name). */
let lastHeaders: AcceptOptions['headers'] | null = null
let lastWire: WireHeaders = NO_HEADERS

/** `safeHeaders` + latin-1 bytes; memoized by identity for frozen lists (they cannot change). */
function wireHeaders(headers: NonNullable<AcceptOptions['headers']>): WireHeaders {
  if (headers === lastHeaders) return lastWire
  const wire = safeHeaders({ status: 101, headers }).map(
    ([name, value]) => [name, latin1Bytes(value)] as const,
  )
  if (Object.isFrozen(headers) && headers.every((pair) => Object.isFrozen(pair))) {
    lastHeaders = headers
    lastWire = wire
  }
  return wire
}

/** The upgrade `UPGRADE` performs: module state, so an accept allocates no closure. */
let upgradeRes: UwsHttpResponse | null = null
let upgradeData: UwsUserData | null = null
let upgradeKey = ''
let upgradeProtocol = ''
let upgradeContext: UwsContext | null = null
let upgradeHeaders: WireHeaders = NO_HEADERS

function UPGRADE(): void {
  const res = upgradeRes!
  // Extra headers need the 101 status written first, or uWS writes "200 OK" for them.
  if (upgradeHeaders.length > 0) {
    res.writeStatus('101 Switching Protocols')
    for (const [name, value] of upgradeHeaders) res.writeHeader(name, value)
  }
  // No extensions: compression is off, so permessage-deflate is never negotiated.
  res.upgrade(upgradeData, upgradeKey, upgradeProtocol, '', upgradeContext!)
}

/** A pending upgrade: uWS's `res` and `context` are kept until the server decides. */
export class UwsUpgradeResponder implements UpgradeResponder {
  readonly #res: UwsHttpResponse
  readonly #key: string
  readonly #context: UwsContext
  #done = false
  #aborted = false
  #onAborted: (() => void) | null = null
  /** The reactor's in-flight set: we are in it until answered or aborted (no closure each). */
  readonly #pending: Set<{ destroy(): void }>

  constructor(
    res: UwsHttpResponse,
    key: string,
    context: UwsContext,
    pending: Set<{ destroy(): void }>,
  ) {
    this.#res = res
    this.#key = key
    this.#context = context
    this.#pending = pending
  }

  /**
   * Called as the uWS upgrade handler returns: an upgrade still undecided (the app answers
   * later) must hear of an abort, and `stop()` must be able to drop it. One the server decided
   * during the handler (a consumer that accepts in `connect()` without awaiting anything does)
   * needs neither: no onAborted closure, no bookkeeping.
   */
  leaveHandler(): void {
    if (this.#done) return
    const pending = this.#pending
    pending.add(this)
    this.#res.onAborted(() => {
      if (this.#done) return
      this.#done = true
      this.#aborted = true
      pending.delete(this)
      const callback = this.#onAborted
      this.#onAborted = null
      callback?.()
    })
  }

  onAborted(callback: () => void): void {
    if (this.#aborted) callback()
    else this.#onAborted = callback
  }

  /** Drop the connection as if the client left (`onAborted` fires); used by `stop()`. */
  destroy(): void {
    if (!this.#done) this.#res.close()
  }

  accept(options: AcceptOptions, handlers: WebSocketHandlers): void {
    if (this.#done) return
    const extra = options.headers === undefined ? NO_HEADERS : wireHeaders(options.headers)
    this.#done = true
    this.#pending.delete(this)
    upgradeRes = this.#res
    upgradeData = { socket: new UwsSocket(handlers) }
    upgradeKey = this.#key
    upgradeProtocol = options.subprotocol ?? ''
    upgradeContext = this.#context
    upgradeHeaders = extra
    try {
      if (uwsScope.depth > 0) UPGRADE()
      else upgradeRes.cork(UPGRADE)
    } finally {
      upgradeRes = null
      upgradeData = null
      upgradeContext = null
      upgradeHeaders = NO_HEADERS
    }
  }

  reject(head: ResponseHead, body?: Uint8Array): void {
    if (this.#done) return
    const safe = safeHead(head)
    this.#done = true
    this.#pending.delete(this)
    const res = this.#res
    res.cork(() => {
      writeHead(res, safe, { closing: true })
      res.end(body ?? '', true)
    })
  }
}

/** Options for the uWS `ws` behaviour. */
export interface UwsBehaviorOptions extends UwsSocketLimits {
  maxPayloadLength: number
  compression: number
  /** The uWS `upgrade` callback (validation + hand-off to the server). */
  upgrade: UwsWebSocketBehavior<UwsUserData>['upgrade']
  /** Every open socket, so `stop()` can end them. */
  sockets: SlotList<UwsSocket>
}

/** The `app.ws('/*', …)` behaviour: uWS events go straight to the socket's handlers. */
export function createBehavior(options: UwsBehaviorOptions): UwsWebSocketBehavior<UwsUserData> {
  const { sockets } = options
  const limits: UwsSocketLimits = {
    maxBackpressure: options.maxBackpressure,
    closeTimeout: options.closeTimeout,
  }
  return {
    maxPayloadLength: options.maxPayloadLength,
    // Kept by UwsSocket instead: uWS would drop close frames over it too.
    maxBackpressure: 0,
    // The server runs its own ping/timeout policy (Daphne's ping_interval/ping_timeout).
    idleTimeout: 0,
    sendPingsAutomatically: false,
    compression: options.compression,
    closeOnBackpressureLimit: false,
    upgrade: options.upgrade,
    open(ws) {
      const socket = ws.getUserData().socket
      socket.attach(ws, limits)
      sockets.add(socket)
      uwsScope.depth++
      try {
        socket.handlers.onOpen(socket)
      } finally {
        uwsScope.depth--
      }
    },
    message(ws, message, isBinary) {
      const socket = ws.getUserData().socket
      // A lingering close: the server already heard the end of this connection.
      if (socket.closed) return
      const handlers = socket.handlers
      uwsScope.depth++
      try {
        // Exactly one copy each: decode straight from uWS memory, or copy the bytes out.
        if (isBinary) handlers.onBinary(Buffer.from(new Uint8Array(message)))
        else handlers.onText(UTF8.decode(message))
      } finally {
        uwsScope.depth--
      }
    },
    drain(ws) {
      const socket = ws.getUserData().socket
      if (socket.closed) return socket.drained()
      uwsScope.depth++
      try {
        socket.handlers.onDrain()
      } finally {
        uwsScope.depth--
      }
    },
    pong(ws) {
      const socket = ws.getUserData().socket
      if (socket.closed) return
      uwsScope.depth++
      try {
        socket.handlers.onPong()
      } finally {
        uwsScope.depth--
      }
    },
    close(ws, code, message) {
      const socket = ws.getUserData().socket
      sockets.delete(socket)
      socket.ended(code, message)
    },
  }
}

function decodeReason(message: ArrayBuffer): string {
  return UTF8.decode(message)
}
