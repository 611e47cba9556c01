/**
 * Small raw ASGI apps for server tests: they record what the server handed them.
 * @module
 */
import type {
  Application,
  HttpScope,
  Receive,
  Scope,
  Send,
} from '../../src/framework/asgi/types.js'

/** What one app instance saw. */
export interface Recorded {
  scope: Scope
  messages: Record<string, unknown>[]
}

/**
 * An HTTP app that reads the whole body, records scope and messages, then answers with
 * `respond(recorded, send)` (default: 200 "ok"). `calls` collects every instance.
 */
export function recordingHttpApp(
  respond: (recorded: Recorded, send: Send, receive: Receive) => Promise<void> = async (
    _r,
    send,
  ) => {
    await send({
      type: 'http.response.start',
      status: 200,
      headers: [[Buffer.from('content-type'), Buffer.from('text/plain')]],
    })
    await send({ type: 'http.response.body', body: Buffer.from('ok') })
  },
): Application & { calls: Recorded[] } {
  const calls: Recorded[] = []
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    const recorded: Recorded = { scope, messages: [] }
    calls.push(recorded)
    for (;;) {
      const message = (await receive()) as Record<string, unknown>
      recorded.messages.push(message)
      if (message.type !== 'http.request' || message.more_body !== true) break
    }
    await respond(recorded, send, receive)
  }
  return Object.assign(app, { calls })
}

/** The body the app received, concatenated. */
export function receivedBody(recorded: Recorded): Buffer {
  return Buffer.concat(
    recorded.messages.filter((m) => m.type === 'http.request').map((m) => m.body as Buffer),
  )
}

/** Scope headers as [name, value] strings. */
export function headerStrings(scope: Scope): [string, string][] {
  return (scope as HttpScope).headers.map(([n, v]) => [
    Buffer.from(n).toString('latin1'),
    Buffer.from(v).toString('latin1'),
  ])
}

/** Options for `echoWebSocketApp`. */
export interface EchoOptions {
  /** Accept with this subprotocol (a function may pick from the scope). */
  subprotocol?: string | ((scope: Scope) => string | undefined)
  headers?: [Uint8Array, Uint8Array][]
  /** Reject (close before accept) instead of accepting. */
  reject?: boolean
}

/**
 * A WebSocket app that accepts, echoes every message (text as text, bytes as bytes) and
 * returns on disconnect; records scope and messages. `"close:CODE:REASON"` makes it close.
 */
export function echoWebSocketApp(options: EchoOptions = {}): Application & { calls: Recorded[] } {
  const calls: Recorded[] = []
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    const recorded: Recorded = { scope, messages: [] }
    calls.push(recorded)
    for (;;) {
      const message = (await receive()) as Record<string, unknown>
      recorded.messages.push(message)
      if (message.type === 'websocket.connect') {
        if (options.reject) {
          await send({ type: 'websocket.close' })
          continue
        }
        const subprotocol =
          typeof options.subprotocol === 'function'
            ? options.subprotocol(scope)
            : options.subprotocol
        await send({
          type: 'websocket.accept',
          subprotocol,
          ...(options.headers ? { headers: options.headers } : {}),
        })
      } else if (message.type === 'websocket.receive') {
        const text = message.text as string | null | undefined
        if (text?.startsWith('close:')) {
          const [, code, reason] = text.split(':')
          await send({ type: 'websocket.close', code: Number(code), reason })
        } else if (text !== undefined && text !== null) await send({ type: 'websocket.send', text })
        else await send({ type: 'websocket.send', bytes: message.bytes as Uint8Array })
      } else if (message.type === 'websocket.disconnect') {
        return
      }
    }
  }
  return Object.assign(app, { calls })
}
