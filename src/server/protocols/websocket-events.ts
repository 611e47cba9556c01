/**
 * Reading the app's WebSocket events at run time (apps may be plain JavaScript): the accept
 * options, the one payload of a send, the code and reason of a close. Every misuse is an
 * AsgiProtocolError thrown out of the app's `await send(...)`.
 *
 * Performance notes: the usual accept (no headers, no subprotocol) returns one shared, frozen
 * options object per server name instead of building arrays per handshake; reactors only read it.
 * @module
 */
import { AsgiProtocolError } from '../../framework/asgi/errors.js'
import { WS_1000_NORMAL_CLOSURE } from '../../framework/asgi/status.js'
import type { AcceptOptions } from '../reactor/types.js'
import { typeName } from '../connection.js'
import { headerToString, validateHeader } from './headers.js'

/** RFC 6455 §7.4: codes an endpoint may send (1004–1006 and 1015 are reserved; 3000–4999 apps). */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  )
}

/**
 * `websocket.accept` → what the reactor sends on the 101: the subprotocol (one the client
 * offered) and the headers, with `Server` first unless the app set one (Daphne's 101 order).
 */
export function readAccept(
  event: Record<string, unknown>,
  offered: readonly string[],
  serverName: string,
): Required<AcceptOptions> {
  const subprotocol = event.subprotocol ?? null
  if (subprotocol === null && (event.headers === undefined || event.headers === null))
    return plainAccept(serverName)
  if (subprotocol !== null && (typeof subprotocol !== 'string' || !offered.includes(subprotocol))) {
    throw new AsgiProtocolError(
      `Subprotocol '${String(subprotocol)}' was not offered by the client (offered: ${JSON.stringify(offered)}).`,
    )
  }
  const headers: [string, string][] = []
  if (event.headers !== undefined && event.headers !== null) {
    for (const pair of event.headers as Iterable<unknown>) {
      const [name, value] = pair as [unknown, unknown]
      const problem = validateHeader(name, value)
      if (problem !== null) throw new AsgiProtocolError(problem)
      headers.push([headerToString(name as string), headerToString(value as string)])
    }
  }
  if (serverName && !headers.some(([n]) => n.toLowerCase() === 'server')) {
    headers.unshift(['Server', serverName])
  }
  return { subprotocol: subprotocol as string | null, headers }
}

let plainName: string | null = null
let plainOptions: Required<AcceptOptions> | null = null

/** The options of an accept with no subprotocol and no headers: shared per server name. */
function plainAccept(serverName: string): Required<AcceptOptions> {
  if (plainOptions === null || plainName !== serverName) {
    const headers: [string, string][] = serverName ? [['Server', serverName]] : []
    plainOptions = Object.freeze({
      subprotocol: null,
      headers: Object.freeze(headers.map((pair) => Object.freeze(pair))),
    }) as unknown as Required<AcceptOptions>
    plainName = serverName
  }
  return plainOptions
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
      throw new AsgiProtocolError(`'text' expected to be a string, but got \`${typeName(text)}\``)
    }
    return text
  }
  if (bytes !== undefined && bytes !== null) {
    if (!(bytes instanceof Uint8Array)) {
      throw new AsgiProtocolError(`'bytes' expected to be bytes, but got \`${typeName(bytes)}\``)
    }
    return bytes
  }
  throw new AsgiProtocolError(
    "Invalid 'websocket.send' message: it contains neither 'bytes' nor 'text'.",
  )
}

/** `websocket.close` after accept → `[code, reason]` (code default 1000, reason ≤ 123 bytes). */
export function readClose(event: Record<string, unknown>): [code: number, reason: string] {
  const code = event.code ?? WS_1000_NORMAL_CLOSURE
  const reason = event.reason ?? ''
  if (typeof code !== 'number' || !isValidCloseCode(code)) {
    throw new AsgiProtocolError(
      `Invalid WebSocket close code ${String(code)}: expected 1000-1003, 1007-1014 or 3000-4999.`,
    )
  }
  if (typeof reason !== 'string') {
    throw new AsgiProtocolError(
      `Close reason expected to be a string, but got \`${typeName(reason)}\``,
    )
  }
  if (Buffer.byteLength(reason) > 123) {
    throw new AsgiProtocolError('Close reason must be at most 123 bytes of UTF-8.')
  }
  return [code, reason]
}
