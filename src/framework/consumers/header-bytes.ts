/**
 * Response headers as users write them (strings or bytes, pairs or a record) → ASGI byte pairs.
 * @module
 */
import { encodeLatin1 } from '../asgi/headers.js'
import type { HeaderPair } from '../asgi/types.js'
import { describeValue } from '../../util/describe.js'

/** A header name or value: a string (latin-1 encoded on the wire) or raw bytes. */
export type HeaderValue = string | Uint8Array

/** Headers as a consumer may give them: `[name, value]` pairs or a `{ name: value }` record. */
export type HeadersInit =
  Iterable<readonly [HeaderValue, HeaderValue]> | Record<string, HeaderValue>

function toBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return encodeLatin1(value)
  throw new TypeError(`Header ${what} must be a string or Uint8Array, got ${describeValue(value)}`)
}

/** Convert headers to ASGI byte pairs, keeping names as given (Channels does not lower-case). */
export function toHeaderPairs(headers: HeadersInit): HeaderPair[] {
  // Checked as unknown: JavaScript callers can pass anything.
  const input: unknown = headers
  if (input === null || typeof input !== 'object') {
    throw new TypeError(
      `Headers must be [name, value] pairs or a record, got ${describeValue(input)}`,
    )
  }
  const pairs: HeaderPair[] = []
  const entries =
    Symbol.iterator in headers
      ? (headers as Iterable<readonly [HeaderValue, HeaderValue]>)
      : Object.entries(headers)
  for (const entry of entries) {
    const pair: unknown = entry
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError(`Each header must be a [name, value] pair, got ${describeValue(pair)}`)
    }
    pairs.push([toBytes(pair[0], 'name'), toBytes(pair[1], 'value')])
  }
  return pairs
}
