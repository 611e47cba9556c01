/**
 * Turning a reactor request head into the parts of an ASGI scope both protocols share: request
 * checks (Daphne's 400s), path decoding, header grouping and filtering, root path, client/server
 * addresses and proxy headers.
 * @module
 */
import type { Address, HeaderPair } from '../asgi/types.js'
import type { ReactorRequest } from '../reactor/types.js'
import type { ResolvedServerConfig } from './config.js'
import { parseXForwardedFor } from './proxy-headers.js'

/** RFC 9110 token characters: a valid header name (Daphne's check). */
const HEADER_NAME = /^[-!#$%&'*+.^_`|~0-9a-zA-Z]+$/
/**
 * Bytes some proxies treat as line breaks: header smuggling (CVE-2026-44546). U+FFFD too: a
 * reactor that decodes headers as UTF-8 (uWebSockets.js) turns a lone 0x85 byte into it.
 */
const BAD_HEADER_VALUE = /[\x0b\x0c\x1c\x1d\x1e\x85\ufffd]/
// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/

/** The 400 message for a request Daphne refuses before any app runs, or null when it is fine. */
export function checkRequest(request: ReactorRequest): string | null {
  for (const [name, value] of request.headers) {
    if (!HEADER_NAME.test(name)) return 'Invalid header name'
    if (BAD_HEADER_VALUE.test(value)) return 'Invalid header value'
  }
  const [path, query] = splitTarget(request.url)
  if (NON_ASCII.test(path)) return 'Invalid characters in path'
  if (query !== null && NON_ASCII.test(query)) return 'Invalid query string'
  return null
}

/** Split a request target into raw path and raw query (null when there is no `?`). */
export function splitTarget(url: string): [path: string, query: string | null] {
  let target = url
  if (target.charCodeAt(0) !== 47 /* / */) {
    // absolute-form (`GET http://host/x`): keep only the path (RFC 9112 §3.2.2)
    const match = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(target)
    if (match) target = target.slice(match[0].length) || '/'
  }
  const q = target.indexOf('?')
  return q === -1 ? [target, null] : [target.slice(0, q), target.slice(q + 1)]
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 65 && code <= 70) return code - 55
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

/** Percent-decode to UTF-8 text; invalid sequences become U+FFFD (Python's `unquote`). */
export function unquote(raw: string): string {
  if (!raw.includes('%')) return raw
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(raw, 'utf8'))
  let n = 0
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i)
    if (code === 37 /* % */ && i + 2 < raw.length) {
      const hi = hexValue(raw.charCodeAt(i + 1))
      const lo = hexValue(raw.charCodeAt(i + 2))
      if (hi >= 0 && lo >= 0) {
        bytes[n++] = hi * 16 + lo
        i += 2
        continue
      }
    }
    if (code < 0x80) bytes[n++] = code
    else n += bytes.write(raw[i] ?? '', n, 'utf8')
  }
  return bytes.toString('utf8', 0, n)
}

// Header names repeat across requests: share their bytes (bounded, so hostile names can't grow it).
const NAME_CACHE = new Map<string, Buffer>()
function nameBytes(name: string): Buffer {
  let bytes = NAME_CACHE.get(name)
  if (bytes === undefined) {
    bytes = Buffer.from(name, 'latin1')
    if (NAME_CACHE.size < 512) NAME_CACHE.set(name, bytes)
  }
  return bytes
}

/** The scope parts shared by HTTP and WebSocket scopes. */
export interface ScopeParts {
  path: string
  rawPath: string
  query: string | null
  headers: HeaderPair[]
  rootPath: string
  client: Address
  server: Address
  /** The scheme a proxy reported, or null. */
  forwardedScheme: string | null
}

/**
 * Build the shared scope parts. Headers: values trimmed, names with `_` dropped (CVE-2015-0219),
 * grouped by name in first-appearance order (Twisted's order), `Daphne-Root-Path` consumed into
 * `root_path` (url-unquoted).
 */
export function buildScopeParts(request: ReactorRequest, config: ResolvedServerConfig): ScopeParts {
  const [rawPath, query] = splitTarget(request.url)
  let rootPath = config.rootPath
  let groups: Map<string, HeaderPair[]> | null = null
  const headers: HeaderPair[] = []
  const seen: string[] = []
  for (const [name, rawValue] of request.headers) {
    if (name.includes('_')) continue
    const value = rawValue.trim()
    if (name === 'daphne-root-path') {
      rootPath = unquote(value)
      continue
    }
    const pair: HeaderPair = [nameBytes(name), Buffer.from(value, 'latin1')]
    if (groups === null) {
      if (!seen.includes(name)) {
        seen.push(name)
        headers.push(pair)
        continue
      }
      // A repeated name: regroup what we have so far, then keep grouping.
      groups = new Map()
      for (let i = 0; i < seen.length; i++)
        groups.set(seen[i] as string, [headers[i] as HeaderPair])
    }
    const group = groups.get(name)
    if (group) group.push(pair)
    else groups.set(name, [pair])
  }
  const client: Address = request.remote ? [request.remote.host, request.remote.port] : null
  const server: Address = request.local ? [request.local.host, request.local.port] : null
  const parts: ScopeParts = {
    path: unquote(rawPath),
    rawPath,
    query,
    headers: groups === null ? headers : [...groups.values()].flat(),
    rootPath,
    client,
    server,
    forwardedScheme: null,
  }
  const proxy = config.proxyHeaders
  if (proxy !== null) {
    const forwarded = parseXForwardedFor(
      request.headers,
      proxy.address,
      proxy.port,
      proxy.proto,
      client,
      null,
    )
    parts.client = forwarded.client
    parts.forwardedScheme = forwarded.scheme
  }
  return parts
}

/** `host:port` for access logs, or null. */
export function describeClient(client: Address): string | null {
  return client === null ? null : `${client[0]}:${client[1]}`
}
