/**
 * Small readers over a `ResponseHead`, shared by both reactors: the status line, the declared
 * body length, and whether the response may carry a body at all.
 * @module
 */
import { STATUS_CODES } from 'node:http'
import type { ResponseHead } from './types.js'

/** The reason phrase: the head's own, else the standard one, else "Unknown". */
export function reasonPhrase(head: ResponseHead): string {
  return head.reason ?? STATUS_CODES[head.status] ?? 'Unknown'
}

/** A header value as a latin-1 string (bytes map one to one). */
export function headerText(value: string | Uint8Array): string {
  if (typeof value === 'string') return value
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1')
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
