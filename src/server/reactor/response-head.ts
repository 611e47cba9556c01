/**
 * Small readers over a `ResponseHead`, shared by both reactors: the status line, the declared
 * body length, and whether the response may carry a body at all.
 * @module
 */
import { STATUS_CODES } from 'node:http'
import { decodeLatin1 } from '../../framework/asgi/headers.js'
import type { ResponseHead } from './types.js'

/** The reason phrase: the head's own, else the standard one, else "Unknown". */
export function reasonPhrase(head: ResponseHead): string {
  return head.reason ?? STATUS_CODES[head.status] ?? 'Unknown'
}

/** A header value as a latin-1 string (bytes map one to one). */
export function headerText(value: string | Uint8Array): string {
  return typeof value === 'string' ? value : decodeLatin1(value)
}

/** Characters a header value may not carry (RFC 9110 §5.5: only VCHAR, obs-text, SP, HT). */
const BAD_VALUE_CHARS = /\r\n|[^\t\x20-\x7e\x80-\xff]/g
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/
/** RFC 9110 §5.6.2 token: what a header name must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * A head's headers as latin-1 strings, made safe to put on the wire: CR, LF and other control
 * characters in a value become a space, as Twisted does for Daphne (`_sanitizeLinearWhitespace`),
 * so no app can split a response. A name that is not an RFC 9110 token is a TypeError.
 */
export function safeHeaders(head: ResponseHead): [string, string][] {
  const headers: [string, string][] = []
  for (const [name, raw] of head.headers) {
    if (!TOKEN.test(name)) {
      throw new TypeError(`Invalid response header name ${JSON.stringify(name)}`)
    }
    const value = headerText(raw)
    headers.push([name, BAD_VALUE_CHAR.test(value) ? value.replace(BAD_VALUE_CHARS, ' ') : value])
  }
  return headers
}

/** The reason phrase with control characters replaced, so it cannot end the status line early. */
export function safeReason(head: ResponseHead): string {
  const reason = reasonPhrase(head)
  return BAD_VALUE_CHAR.test(reason) ? reason.replace(BAD_VALUE_CHARS, ' ') : reason
}

/** A head made safe for the wire (see `safeHeaders`); string values, latin-1. */
export function safeHead(head: ResponseHead): ResponseHead & { headers: [string, string][] } {
  return { status: head.status, reason: safeReason(head), headers: safeHeaders(head) }
}

/** The `content-length` the app declared, or null when absent or not a plain decimal. */
export function declaredLength(head: ResponseHead): number | null {
  for (const [name, value] of head.headers) {
    if (name.length !== 14 || name.toLowerCase() !== 'content-length') continue
    const text = headerText(value).trim()
    return /^\d+$/.test(text) ? Number(text) : null
  }
  return null
}

/** True when the head asks to close the connection after this response. */
export function wantsClose(head: ResponseHead): boolean {
  for (const [name, value] of head.headers) {
    if (name.toLowerCase() === 'connection' && /\bclose\b/i.test(headerText(value))) return true
  }
  return false
}

/** HEAD requests and 1xx/204/304 responses never carry a body (RFC 9110 §6.4.1). */
export function bodyForbidden(method: string, status: number): boolean {
  return method === 'HEAD' || status < 200 || status === 204 || status === 304
}
