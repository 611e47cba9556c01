/**
 * Daphne's `parse_x_forwarded_for`: behind a trusted proxy, the client address, port and scheme
 * come from X-Forwarded-For / -Port / -Proto (names configurable).
 * @module
 */
import type { Address } from '../framework/asgi/types.js'

/** What a proxy told us: the client address (possibly the original) and scheme (or the original). */
export interface ForwardedResult {
  client: Address | null
  scheme: string | null
}

const INTEGER = /^\s*[+-]?\d+\s*$/

/**
 * Look up the proxy headers (names lower-case; `headers` lower-cased names, in order). Without
 * the address header the port and proto headers are ignored, as in Daphne. The address is the
 * first comma-separated entry, verbatim (IPv6 too); the port defaults to 0.
 */
export function parseXForwardedFor(
  headers: Iterable<readonly [string, string]>,
  addressHeader: string,
  portHeader: string,
  protoHeader: string,
  originalAddr: Address | null = null,
  originalScheme: string | null = null,
): ForwardedResult {
  const flat: string[] = []
  for (const [name, value] of headers) flat.push(name, value)
  return forwardedFor(flat, addressHeader, portHeader, protoHeader, originalAddr, originalScheme)
}

/** `parseXForwardedFor` over a reactor's flat `[name, value, …]` header list. */
export function forwardedFor(
  headers: readonly string[],
  addressHeader: string,
  portHeader: string,
  protoHeader: string,
  originalAddr: Address | null,
  originalScheme: string | null,
): ForwardedResult {
  let address: string | undefined
  let port: string | undefined
  let proto: string | undefined
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]
    const value = headers[i + 1] as string
    if (address === undefined && name === addressHeader) address = value
    else if (port === undefined && name === portHeader) port = value
    else if (proto === undefined && name === protoHeader) proto = value
  }
  if (address === undefined) return { client: originalAddr, scheme: originalScheme }
  const host = (address.split(',')[0] ?? '').trim()
  let clientPort = 0
  if (port !== undefined && INTEGER.test(port)) clientPort = Number.parseInt(port, 10)
  return { client: [host, clientPort], scheme: proto !== undefined ? proto.trim() : originalScheme }
}
