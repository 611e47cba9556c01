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

/** What {@link advanceWebsocketState} returns for a send to drop (the connection is closed). */
export const DROP = -1

/**
 * The state after sending `message` in `state`, or DROP when it must be dropped (after a
 * close, like Daphne). Throws AsgiProtocolError when the message is not allowed now. A pure
 * function, so a consumer keeps just a number per connection.
 */
export function advanceWebsocketState(
  state: WebsocketState,
  message: unknown,
): WebsocketState | typeof DROP {
  const type =
    message !== null && typeof message === 'object'
      ? (message as { type?: unknown }).type
      : undefined
  switch (state) {
    case WebsocketState.Connecting:
      if (type === 'websocket.accept') return WebsocketState.Connected
      if (type === 'websocket.close') return WebsocketState.Closed
      throw expected('websocket.accept', 'websocket.close', message)
    case WebsocketState.Connected:
      if (type === 'websocket.send') {
        const { text, bytes } = message as { text?: unknown; bytes?: unknown }
        if (typeof text === 'string' || (text == null && bytes instanceof Uint8Array)) {
          return WebsocketState.Connected
        }
        throw new AsgiProtocolError(
          "ASGI message 'websocket.send' needs a string 'text' or a Uint8Array 'bytes'.",
        )
      }
      if (type === 'websocket.close') return WebsocketState.Closed
      throw expected('websocket.send', 'websocket.close', message)
    default:
      if (type === 'websocket.send' || type === 'websocket.close') return DROP
      throw new AsgiProtocolError(
        `Unexpected ASGI message ${describe(message)}, ` +
          "after sending 'websocket.close' or the client disconnected.",
      )
  }
}
