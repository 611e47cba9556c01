/**
 * Copying a request head out of uWS: `HttpRequest` is stack-allocated and dies when the handler
 * returns, so method, target, headers and the peer address are read into plain values at once.
 * @module
 */
import type { ReactorRequest } from './types.js'
import type { UwsHttpRequest, UwsHttpResponse } from './uws-api.js'
import { isAscii } from '../../util/ascii.js'

/** What a listener knows about itself, for the request's `local` and `tls` fields. */
export interface ListenInfo {
  local: { host: string; port: number } | null
  tls: boolean
  unix: boolean
}

/** Any byte outside ASCII: the rare case where uWS's UTF-8 decoding needs undoing. */
export const NON_ASCII = /[\u0080-\uffff]/

/** A UTF-8-decoded string back to one character per original byte (what node gives). */
function utf8ToLatin1(text: string): string {
  return isAscii(text) ? text : Buffer.from(text, 'utf8').toString('latin1')
}

/** True when every value of a flat `[name, value, …]` list is ASCII. */
function valuesAscii(headers: string[]): boolean {
  for (let i = 1; i < headers.length; i += 2) if (!isAscii(headers[i] as string)) return false
  return true
}

/**
 * Copy method, target, headers and addresses out of uWS before the handler returns. Values come
 * latin-1 decoded like node's: uWS's `forEach` decodes UTF-8 (invalid bytes become U+FFFD), its
 * `getHeader` keeps bytes, so a non-ASCII value is re-read with `getHeader` (first of its name).
 */
export function copyRequest(
  res: UwsHttpResponse,
  req: UwsHttpRequest,
  info: ListenInfo,
): ReactorRequest {
  const headers: string[] = []
  req.forEach((name, value) => {
    headers.push(name, value)
  })
  if (!valuesAscii(headers)) {
    const seen = new Set<string>()
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string
      const value = headers[i + 1] as string
      if (!isAscii(value)) {
        headers[i + 1] = seen.has(name) ? utf8ToLatin1(value) : req.getHeader(name)
      }
      seen.add(name)
    }
  }
  const query = req.getQuery()
  const url = query ? `${req.getUrl()}?${query}` : req.getUrl()
  return {
    method: req.getCaseSensitiveMethod(),
    url: utf8ToLatin1(url),
    // uWS 20.30 only parses HTTP/1.1 request lines (an HTTP/1.0 request gets no answer).
    httpVersion: '1.1',
    headers,
    // uWS 20.30 exposes no peer port; 0 stands for "unknown".
    remote: info.unix ? null : { host: peerHost(res), port: 0 },
    local: info.local,
    tls: info.tls,
  }
}

function peerHost(res: UwsHttpResponse): string {
  return formatAddress(new Uint8Array(res.getRemoteAddress()))
}

/**
 * An IP address from uWS's 4- or 16-byte form: IPv4 dotted, IPv4-mapped IPv6 as plain IPv4 (as
 * the node reactor shows it too), IPv6 in RFC 5952 form (uWS's own text is uncompressed).
 */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return dotted(bytes, 0)
  if (bytes.length !== 16) return ''
  let zeros = true
  for (let i = 0; i < 10; i++) {
    if (bytes[i] !== 0) {
      zeros = false
      break
    }
  }
  if (zeros && bytes[10] === 0xff && bytes[11] === 0xff) return dotted(bytes, 12)
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!)
  // The longest run of two or more zero groups becomes "::" (the first one on a tie).
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((group) => group.toString(16))
      .join(':')
  if (bestStart === -1) return hex(0, 8)
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`
}

/** Four bytes from `at` as dotted IPv4. */
function dotted(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`
}
