/**
 * WebSocket opening-handshake checks shared by both reactors, so a malformed upgrade gets the same
 * answer whichever reactor runs (RFC 6455 §4.2.1). uWS upgrades `Sec-WebSocket-Version: 8` and
 * drops a request without `Sec-WebSocket-Key` unanswered; `ws` answers 400 where RFC 6455 asks
 * for 426. Both reactors therefore validate here before the server sees the request.
 * @module
 */
import type { ResponseHead } from './types.js'

/** The one protocol version we speak (RFC 6455 §4.4). */
export const WEBSOCKET_VERSION = '13'

/**
 * A base64 encoding of 16 bytes, as `Sec-WebSocket-Key` must be (RFC 6455 §4.1): 22 base64
 * characters then `==`. A character loop: one per handshake, cheaper than a RegExp test.
 */
function isWebSocketKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 61 || key.charCodeAt(23) !== 61) return false
  for (let i = 0; i < 22; i++) {
    const c = key.charCodeAt(i)
    const base64 =
      (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47
    if (!base64) return false
  }
  return true
}

/** A ready-made refusal: the reactor writes it and closes the connection. */
export interface HandshakeRejection {
  head: ResponseHead
  body: string
}

/** Header lookup over the reactor's flat `[lower-case name, value, …]` list. */
function header(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1]
  return undefined
}

/** True when `value` (a comma-separated header) lists `token`, case-insensitively. */
function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false
  // The usual header is the bare token: compare in place, without split/trim/lower-case copies.
  if (value.length === token.length && sameLetters(value, token)) return true
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true
  return false
}

/** `text` equals the lower-case, letters-only `token` ignoring ASCII case. */
function sameLetters(text: string, token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    if ((text.charCodeAt(i) | 0x20) !== token.charCodeAt(i)) return false
  }
  return true
}

/**
 * True when a request is trying to open a WebSocket (`Upgrade: websocket` or a
 * `Sec-WebSocket-Key`), so it must pass `validateHandshake` rather than reach the app as HTTP.
 */
export function wantsWebSocket(headers: readonly string[]): boolean {
  return (
    hasToken(header(headers, 'upgrade'), 'websocket') ||
    header(headers, 'sec-websocket-key') !== undefined
  )
}

function reject(status: number, reason: string, body: string, extra: [string, string][] = []) {
  const head: ResponseHead = {
    status,
    reason,
    headers: [['Content-Type', 'text/plain; charset=utf-8'], ['Connection', 'close'], ...extra],
  }
  return { head, body }
}

/**
 * Check an upgrade request; null when it is a valid RFC 6455 opening handshake, otherwise the
 * HTTP answer to send instead: 405 for a non-GET method, 400 for a missing `Upgrade`/`Connection`
 * token or a missing/malformed key, 426 (with `Sec-WebSocket-Version: 13`) for another version.
 */
export function validateHandshake(
  method: string,
  headers: readonly string[],
): HandshakeRejection | null {
  if (method.toUpperCase() !== 'GET') {
    return reject(405, 'Method Not Allowed', 'WebSocket upgrade requires GET.\n', [
      ['Allow', 'GET'],
    ])
  }
  if (!hasToken(header(headers, 'upgrade'), 'websocket')) {
    return reject(400, 'Bad Request', 'Missing or invalid Upgrade header.\n')
  }
  if (!hasToken(header(headers, 'connection'), 'upgrade')) {
    return reject(400, 'Bad Request', 'Missing or invalid Connection header.\n')
  }
  const key = header(headers, 'sec-websocket-key')
  if (key === undefined || !isWebSocketKey(key.trim())) {
    return reject(400, 'Bad Request', 'Missing or invalid Sec-WebSocket-Key header.\n')
  }
  if (header(headers, 'sec-websocket-version')?.trim() !== WEBSOCKET_VERSION) {
    return reject(426, 'Upgrade Required', 'Unsupported Sec-WebSocket-Version.\n', [
      ['Sec-WebSocket-Version', WEBSOCKET_VERSION],
    ])
  }
  return null
}

/** The request's `Sec-WebSocket-Key`, trimmed ('' when absent; validate first). */
export function websocketKey(headers: readonly string[]): string {
  return header(headers, 'sec-websocket-key')?.trim() ?? ''
}

/**
 * What a request without `Sec-WebSocket-Protocol` offers: one frozen empty array shared by every
 * such connection (it ends up in `scope.subprotocols`, kept as long as the connection).
 */
const NO_SUBPROTOCOLS: string[] = Object.freeze([]) as unknown as string[]

/** `Sec-WebSocket-Protocol` split on `,` and trimmed (empty entries dropped; none: a frozen `[]`). */
export function parseSubprotocols(headers: readonly string[]): string[] {
  const value = header(headers, 'sec-websocket-protocol')
  if (value === undefined) return NO_SUBPROTOCOLS
  const protocols: string[] = []
  for (const part of value.split(',')) {
    const name = part.trim()
    if (name !== '') protocols.push(name)
  }
  return protocols
}
