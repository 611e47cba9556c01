/**
 * The WebSocket send-side state machine every WebSocket consumer runs its sends through, so a
 * plain-JS consumer gets a clear error where TypeScript would have caught the mistake. The
 * wording follows starlette/uvicorn.
 * @module
 */
import { AsgiProtocolError } from '../asgi/errors.js'

/** Where a WebSocket connection is, seen from the application. */
export const WebsocketState = {
  /** Handshake pending: only accept or close may be sent. */
  Connecting: 0,
  /** Accepted: send or close. */
  Connected: 1,
  /** Closed by us or by the client: further sends are dropped (Daphne ignores them too). */
  Closed: 2,
} as const
export type WebsocketState = (typeof WebsocketState)[keyof typeof WebsocketState]

/** The outcome of checking one outgoing event: pass it on, or drop it silently. */
export const Verdict = { Send: 0, Drop: 1 } as const
export type Verdict = (typeof Verdict)[keyof typeof Verdict]

function describe(message: unknown): string {
  if (message === null || typeof message !== 'object') return String(message)
  const type = (message as { type?: unknown }).type
  return typeof type === 'string' ? `'${type}'` : 'a message without a string type'
}

function expected(a: string, b: string, message: unknown): AsgiProtocolError {
  return new AsgiProtocolError(
    `Expected ASGI message '${a}' or '${b}', but got ${describe(message)}.`,
  )
}

/** Tracks the state of one connection and checks each outgoing event against it. */
export class WebsocketGuard {
  state: WebsocketState = WebsocketState.Connecting

  /** Advance the state for `message`; throws AsgiProtocolError when it is not allowed now. */
  check(message: unknown): Verdict {
    const type =
      message !== null && typeof message === 'object'
        ? (message as { type?: unknown }).type
        : undefined
    switch (this.state) {
      case WebsocketState.Connecting:
        if (type === 'websocket.accept') this.state = WebsocketState.Connected
        else if (type === 'websocket.close') this.state = WebsocketState.Closed
        else throw expected('websocket.accept', 'websocket.close', message)
        return Verdict.Send
      case WebsocketState.Connected:
        if (type === 'websocket.send') {
          const { text, bytes } = message as { text?: unknown; bytes?: unknown }
          if (typeof text === 'string' || (text == null && bytes instanceof Uint8Array)) {
            return Verdict.Send
          }
          throw new AsgiProtocolError(
            "ASGI message 'websocket.send' needs a string 'text' or a Uint8Array 'bytes'.",
          )
        }
        if (type === 'websocket.close') {
          this.state = WebsocketState.Closed
          return Verdict.Send
        }
        throw expected('websocket.send', 'websocket.close', message)
      case WebsocketState.Closed:
        if (type === 'websocket.send' || type === 'websocket.close') return Verdict.Drop
        throw new AsgiProtocolError(
          `Unexpected ASGI message ${describe(message)}, ` +
            "after sending 'websocket.close' or the client disconnected.",
        )
    }
  }
}
