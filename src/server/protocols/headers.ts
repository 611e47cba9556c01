/**
 * Checking the headers an app sends (`http.response.start`, `websocket.accept`): names and values
 * may be bytes (ASGI) or strings (a convenience); anything else, or bytes that would split the
 * header block, is refused.
 * @module
 */
import { decodeLatin1 } from '../../framework/asgi/headers.js'
import { describeValue } from '../../util/describe.js'

const TOKEN = /^[-!#$%&'*+.^_`|~0-9a-zA-Z]+$/
const UNSAFE_VALUE = /[\r\n\0]/

function repr(value: unknown): string {
  return value instanceof Uint8Array ? decodeLatin1(value) : String(value)
}

/** Bytes (latin-1) or a string, as a string. */
export function headerToString(value: Uint8Array | string): string {
  return typeof value === 'string' ? value : decodeLatin1(value)
}

/** Null when the pair is acceptable, else the error message. */
export function validateHeader(name: unknown, value: unknown): string | null {
  if (!(name instanceof Uint8Array) && typeof name !== 'string') {
    const got = describeValue(name)
    return `Header name '${repr(name)}' expected to be a Uint8Array or a string, but got ${got}.`
  }
  if (!(value instanceof Uint8Array) && typeof value !== 'string') {
    const got = describeValue(value)
    return `Header value '${repr(value)}' expected to be a Uint8Array or a string, but got ${got}.`
  }
  const nameText = headerToString(name)
  if (!TOKEN.test(nameText)) return `Invalid header name '${nameText}'`
  if (UNSAFE_VALUE.test(headerToString(value)))
    return `Invalid header value for '${nameText}': CR, LF and NUL are not allowed`
  return null
}
