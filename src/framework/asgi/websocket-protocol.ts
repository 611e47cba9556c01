/**
 * The ASGI WebSocket protocol as the application's sends see it, defined once: which events an
 * application may send in each phase of a connection, and how each event is read. The server
 * checks every event the application sends with it (as Daphne does, in its protocol), and so does
 * the WebsocketCommunicator, which stands in for the server in tests; consumers just send.
 *
 * Every misuse is an error thrown out of the application's `await send(...)`: Daphne's wording
 * where Daphne raises, starlette/uvicorn's elsewhere. Events sent once the connection is closed
 * (by the application or by the client) are dropped, as Daphne ignores them.
 * @module
 */
import { describeValue } from '../../util/describe.js'
import { AsgiProtocolError, ValueError } from './errors.js'
import { WS_1000_NORMAL_CLOSURE } from './status.js'

/** The phases of a connection that decide what the application may send. */
export const WebsocketPhase = {
  /** The handshake is pending: accept, or close (a rejection). */
  Connecting: 0,
  /** Accepted: send or close. */
  Open: 1,
  /** Closed by the application or the client: whatever is sent is dropped. */
  Closed: 2,
} as const
export type WebsocketPhase = (typeof WebsocketPhase)[keyof typeof WebsocketPhase]

/** The events an application sends on a WebSocket. */
export type WebsocketSendType = 'websocket.accept' | 'websocket.send' | 'websocket.close'

/**
 * The type of `message` when the application may send it in `phase`, or null when it is to be
 * dropped (the connection is closed). Throws ValueError for a message without a string `type`
 * (Daphne's), AsgiProtocolError for a type the phase does not allow.
 */
export function websocketSendType(
  phase: WebsocketPhase,
  message: unknown,
): WebsocketSendType | null {
  const type =
    message !== null && typeof message === 'object'
      ? (message as { type?: unknown }).type
      : undefined
  if (typeof type !== 'string') throw new ValueError('Message has no type defined')
  if (phase === WebsocketPhase.Open) {
    if (type === 'websocket.send' || type === 'websocket.close') return type
    throw new AsgiProtocolError(
      `Expected ASGI message 'websocket.send' or 'websocket.close', but got '${type}'.`,
    )
  }
  if (phase === WebsocketPhase.Connecting) {
    if (type === 'websocket.accept' || type === 'websocket.close') return type
    const expected = `ASGI message 'websocket.accept' or 'websocket.close', but got '${type}'.`
    throw new AsgiProtocolError(
      type === 'websocket.send'
        ? `Socket has not been accepted, so cannot send over it: expected ${expected}`
        : `Expected ${expected}`,
    )
  }
  return null
}

/** `websocket.accept` → the chosen subprotocol, which must be one the client offered, or null. */
export function readSubprotocol(
  event: Record<string, unknown>,
  offered: readonly string[],
): string | null {
  const subprotocol = event.subprotocol
  if (subprotocol === undefined || subprotocol === null) return null
  if (typeof subprotocol !== 'string') {
    throw new AsgiProtocolError(
      `Subprotocol expected to be a string, but got ${describeValue(subprotocol)}.`,
    )
  }
  if (!offered.includes(subprotocol)) {
    throw new AsgiProtocolError(
      `Subprotocol '${subprotocol}' was not offered by the client ` +
        `(offered: ${JSON.stringify(offered)}).`,
    )
  }
  return subprotocol
}

/** `websocket.send` → its payload: exactly one of `text` (a string) or `bytes` (a Uint8Array). */
export function readPayload(event: Record<string, unknown>): string | Uint8Array {
  const text = event.text
  const bytes = event.bytes
  if (text !== undefined && text !== null) {
    if (bytes !== undefined && bytes !== null) {
      throw new AsgiProtocolError(
        "Invalid 'websocket.send' message: it contains both 'bytes' and 'text' keys.",
      )
    }
    if (typeof text !== 'string') {
      throw new AsgiProtocolError(`'text' expected to be a string, but got ${describeValue(text)}.`)
    }
    return text
  }
  if (bytes !== undefined && bytes !== null) {
    if (!(bytes instanceof Uint8Array)) {
      throw new AsgiProtocolError(
        `'bytes' expected to be a Uint8Array, but got ${describeValue(bytes)}.`,
      )
    }
    return bytes
  }
  throw new AsgiProtocolError(
    "Invalid 'websocket.send' message: it contains neither 'bytes' nor 'text'.",
  )
}

/** RFC 6455 §7.4: the codes an endpoint may send (1004–1006 and 1015 are reserved). */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  )
}

/**
 * `websocket.close` after accept → `[code, reason]` (code default 1000, reason ≤ 123 bytes of
 * UTF-8, what fits a close frame). Before accept a close is a rejection: neither is read.
 */
export function readClose(event: Record<string, unknown>): [code: number, reason: string] {
  const code = event.code ?? WS_1000_NORMAL_CLOSURE
  const reason = event.reason ?? ''
  if (typeof code !== 'number') {
    throw new AsgiProtocolError(
      `Close code expected to be a number, but got ${describeValue(code)}.`,
    )
  }
  if (!isValidCloseCode(code)) {
    throw new AsgiProtocolError(
      `Invalid WebSocket close code ${code}: expected 1000-1003, 1007-1014 or 3000-4999.`,
    )
  }
  if (typeof reason !== 'string') {
    throw new AsgiProtocolError(
      `Close reason expected to be a string, but got ${describeValue(reason)}.`,
    )
  }
  if (Buffer.byteLength(reason) > 123) {
    throw new AsgiProtocolError('Close reason must be at most 123 bytes of UTF-8.')
  }
  return [code, reason]
}

/** What {@link checkWebsocketSend} returns for an event to drop. */
export const DROP = -1

/**
 * Check one event the application sends in `phase`, reading it as a server would (accept
 * headers aside: the server checks those as it writes them). Returns the phase after it, or DROP
 * when the connection is closed. For a stand-in server, such as a test communicator; the server
 * itself reads each event once, with the functions above.
 */
export function checkWebsocketSend(
  phase: WebsocketPhase,
  message: unknown,
  offered: readonly string[],
): WebsocketPhase | typeof DROP {
  const event = message as Record<string, unknown>
  switch (websocketSendType(phase, message)) {
    case 'websocket.accept':
      readSubprotocol(event, offered)
      return WebsocketPhase.Open
    case 'websocket.send':
      readPayload(event)
      return WebsocketPhase.Open
    case 'websocket.close':
      if (phase === WebsocketPhase.Open) readClose(event)
      return WebsocketPhase.Closed
    default:
      return DROP
  }
}
