/**
 * Split a communicator's path argument into the scope's `path` and `query_string`, the way
 * Channels' communicators do with `urlparse` + `unquote`.
 * @module
 */
import { decodeLatin1, encodeLatin1 } from '../asgi/headers.js'
import type { HeaderPair } from '../asgi/types.js'
import { describeValue } from '../../util/describe.js'

// `scheme://authority` in front of a full URL such as `wss://user:pass@host:8080/p?q`.
const SCHEME_AUTHORITY = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/

/**
 * Percent-decode like Python's `unquote`: `%XX` escapes become bytes, read as UTF-8 (invalid
 * sequences become U+FFFD; a malformed escape is kept as-is), so it never throws.
 */
export function unquote(text: string): string {
  if (!text.includes('%')) return text
  const bytes: number[] = []
  const utf8 = Buffer.from(text, 'utf8')
  for (let i = 0; i < utf8.length; i++) {
    const byte = utf8[i]!
    if (byte === 0x25 && i + 2 < utf8.length && isHex(utf8[i + 1]) && isHex(utf8[i + 2])) {
      bytes.push(parseInt(String.fromCharCode(utf8[i + 1]!, utf8[i + 2]!), 16))
      i += 2
    } else {
      bytes.push(byte)
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

function isHex(byte: number | undefined): boolean {
  return (
    byte !== undefined &&
    ((byte >= 0x30 && byte <= 0x39) ||
      (byte >= 0x41 && byte <= 0x46) ||
      (byte >= 0x61 && byte <= 0x66))
  )
}

/**
 * `{ path, query_string }` for a path such as `/chat/?x=1` or a full `ws://` URL (userinfo and
 * fragment tolerated). Throws TypeError when `path` is not a string.
 */
export function splitPath(path: unknown): { path: string; query_string: Buffer } {
  if (typeof path !== 'string') {
    throw new TypeError(`Expected str, got ${describeValue(path)}`)
  }
  let rest = path.replace(SCHEME_AUTHORITY, '')
  const hash = rest.indexOf('#')
  if (hash !== -1) rest = rest.slice(0, hash)
  const question = rest.indexOf('?')
  const rawPath = question === -1 ? rest : rest.slice(0, question)
  const query = question === -1 ? '' : rest.slice(question + 1)
  return { path: unquote(rawPath), query_string: Buffer.from(query, 'utf8') }
}

/** A request header as tests give it: strings or bytes. */
export type TestHeader = readonly [string | Uint8Array, string | Uint8Array]

/** Header pairs for a scope: names lower-cased (ASGI requires it), strings latin-1 encoded. */
export function scopeHeaders(headers: Iterable<TestHeader> | null | undefined): HeaderPair[] {
  const pairs: HeaderPair[] = []
  if (headers === undefined || headers === null) return pairs
  // Each pair is checked: JavaScript callers may pass anything.
  for (const pair of headers as Iterable<unknown>) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError('Each header must be a [name, value] pair')
    }
    const [name, value] = pair as [unknown, unknown]
    pairs.push([encodeLatin1(toText(name, 'name').toLowerCase()), toBytes(value)])
  }
  return pairs
}

function toText(value: unknown, what: string): string {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return decodeLatin1(value)
  throw new TypeError(`Header ${what} must be a string or Uint8Array, got ${describeValue(value)}`)
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  return encodeLatin1(toText(value, 'value'))
}
