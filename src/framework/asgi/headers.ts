/**
 * Reading ASGI byte-pair headers. Header bytes are latin-1 on the wire (RFC 9110), so names and
 * values convert to strings one byte per character.
 * @module
 */
import type { HeaderPair } from './types.js'

/** Bytes → string, one byte per character (what Python's `.decode('latin1')` does). */
export function decodeLatin1(bytes: Uint8Array): string {
  // A Buffer (what the server builds) decodes in place; another Uint8Array needs a Buffer view.
  if (bytes instanceof Buffer) return bytes.toString('latin1')
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

/** True when header name bytes `key` spell `name` (compared byte by byte: nothing decoded). */
export function headerNameIs(key: Uint8Array, name: string): boolean {
  const length = name.length
  if (key.length !== length) return false
  for (let i = 0; i < length; i++) if (key[i] !== name.charCodeAt(i)) return false
  return true
}

/** String → bytes, one byte per character. */
export function encodeLatin1(text: string): Buffer {
  return Buffer.from(text, 'latin1')
}

/** The first value of header `name` (lower-case), latin-1 decoded, or undefined. */
export function getHeader(headers: Iterable<HeaderPair>, name: string): string | undefined {
  if (Array.isArray(headers)) {
    // The usual case, without an iterator and a destructured pair per header.
    for (let i = 0; i < headers.length; i++) {
      const pair = headers[i] as HeaderPair
      if (headerNameIs(pair[0], name)) return decodeLatin1(pair[1])
    }
    return undefined
  }
  for (const [key, value] of headers) {
    if (headerNameIs(key, name)) return decodeLatin1(value)
  }
  return undefined
}

/** Every value of header `name` (lower-case), in order. */
export function getHeaderAll(headers: Iterable<HeaderPair>, name: string): string[] {
  const values: string[] = []
  for (const [key, value] of headers) {
    if (headerNameIs(key, name)) values.push(decodeLatin1(value))
  }
  return values
}

/** Build ASGI headers from string pairs (names are lower-cased). */
export function toHeaderPairs(headers: Iterable<[string, string]>): HeaderPair[] {
  const pairs: HeaderPair[] = []
  for (const [name, value] of headers)
    pairs.push([encodeLatin1(name.toLowerCase()), encodeLatin1(value)])
  return pairs
}
