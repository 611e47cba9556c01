/**
 * Turning a reactor request head into the parts of an ASGI scope both protocols share: request
 * checks (Daphne's 400s), path decoding, header grouping and filtering, root path, client/server
 * addresses and proxy headers.
 *
 * An idle WebSocket keeps its scope for its whole life, so what repeats across connections is
 * shared rather than copied: header pairs come from shared-bytes.ts, and a server's
 * SharedScopeParts holds the `server` addresses, the `client` addresses of hosts whose peer port
 * is unknown (uWS reports none), and the path of consecutive requests for the same path.
 * @module
 */
import type { Address, HeaderPair } from '../framework/asgi/types.js'
import type { ReactorRequest } from './reactor/types.js'
import type { ResolvedServerConfig } from './config.js'
import { forwardedFor } from './proxy-headers.js'
import { headerPair } from './shared-bytes.js'
import { isAscii } from '../util/ascii.js'

/** RFC 9110 token characters (a valid header name, Daphne's check), indexed by char code. */
const TOKEN = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1

function isToken(name: string): boolean {
  if (name.length === 0) return false
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c >= 128 || TOKEN[c] === 0) return false
  }
  return true
}

/**
 * Bytes some proxies treat as line breaks: header smuggling (CVE-2026-44546). U+FFFD too: a
 * reactor that decodes headers as UTF-8 (uWebSockets.js) turns a lone 0x85 byte into it.
 */
function isBadHeaderValue(value: string): boolean {
  // A loop, not a RegExp: values are short and there are several per request.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20) {
      if (c === 0x0b || c === 0x0c || c === 0x1c || c === 0x1d || c === 0x1e) return true
    } else if (c >= 0x85 && (c === 0x85 || c === 0xfffd)) return true
  }
  return false
}

/**
 * The 400 message for a request Daphne refuses before any app runs, or null when it is fine.
 * Names, values and paths are checked with character loops (short strings: faster than
 * `RegExp#test`).
 */
export function checkRequest(request: ReactorRequest): string | null {
  const headers = request.headers
  for (let i = 0; i < headers.length; i += 2) {
    if (!isToken(headers[i] as string)) return 'Invalid header name'
    if (isBadHeaderValue(headers[i + 1] as string)) return 'Invalid header value'
  }
  // Path and query are parts of the target: an ASCII target (the usual case) needs no split.
  if (isAscii(request.url)) return null
  const [path, query] = splitTarget(request.url)
  if (!isAscii(path)) return 'Invalid characters in path'
  if (query !== null && !isAscii(query)) return 'Invalid query string'
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

/** Distinct client hosts SharedScopeParts keeps; the cache is emptied when it is full. */
const MAX_HOSTS = 1024
/** Distinct local addresses it keeps (listeners × local interfaces: a handful). */
const MAX_SERVERS = 16

/**
 * The scope parts one server's connections share (one per server, in its ServerContext). Each
 * cache is bounded, so varied or hostile input costs at most a miss.
 */
export class SharedScopeParts {
  /** `server` addresses seen, searched in order (there are few). */
  private readonly servers: [string, number][] = []
  /** `client` addresses of peers whose port the reactor does not know (0), by host. */
  private readonly clients = new Map<string, [string, number]>()
  /** The last request path: requests for one path mostly come in runs. */
  private path = ''

  /** The listener's address as a scope's `server`. */
  server(local: ReactorRequest['local']): Address {
    if (local === null) return null
    const servers = this.servers
    for (let i = 0; i < servers.length; i++) {
      const known = servers[i] as [string, number]
      if (known[1] === local.port && known[0] === local.host) return known
    }
    if (servers.length >= MAX_SERVERS) servers.length = 0
    const address: [string, number] = [local.host, local.port]
    servers.push(address)
    return address
  }

  /** The peer as a scope's `client`: shared per host when its port is unknown. */
  client(remote: ReactorRequest['remote']): Address {
    if (remote === null) return null
    if (remote.port !== 0) return [remote.host, remote.port]
    const known = this.clients.get(remote.host)
    if (known !== undefined) return known
    if (this.clients.size >= MAX_HOSTS) this.clients.clear()
    const address: [string, number] = [remote.host, 0]
    this.clients.set(remote.host, address)
    return address
  }

  /** `target` itself, or the equal string an earlier request already holds. */
  rawPath(target: string): string {
    if (target === this.path) return this.path
    this.path = target
    return target
  }
}

/** True when a header named `name` comes before index `at` (of the flat list). */
function appearsBefore(raw: ReactorRequest['headers'], at: number, name: string): boolean {
  for (let i = 0; i < at; i += 2) if (raw[i] === name) return true
  return false
}

/**
 * The scope's headers grouped by name in first-appearance order (Twisted's order): `pairs` are
 * the kept headers of `raw`, in order (names with `_` and `daphne-root-path` were dropped).
 */
function groupByName(raw: ReactorRequest['headers'], pairs: HeaderPair[]): HeaderPair[] {
  const groups = new Map<string, HeaderPair[]>()
  let kept = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.includes('_') || name === 'daphne-root-path') continue
    const pair = pairs[kept++] as HeaderPair
    const group = groups.get(name)
    if (group === undefined) groups.set(name, [pair])
    else group.push(pair)
  }
  return [...groups.values()].flat()
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
 * `root_path` (url-unquoted). Addresses and the path come from the server's `shared` parts.
 */
export function buildScopeParts(
  request: ReactorRequest,
  config: ResolvedServerConfig,
  shared: SharedScopeParts,
): ScopeParts {
  const [target, query] = splitTarget(request.url)
  const rawPath = shared.rawPath(target)
  let rootPath = config.rootPath
  const raw = request.headers
  // Sized up front: an idle WebSocket keeps this array, and push() would leave ~12 spare slots.
  let headers: HeaderPair[] = new Array<HeaderPair>(raw.length >> 1)
  let count = 0
  let repeated = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.includes('_')) continue
    const value = (raw[i + 1] as string).trim()
    if (name === 'daphne-root-path') {
      rootPath = unquote(value)
      continue
    }
    if (!repeated && appearsBefore(raw, i, name)) repeated = true
    headers[count++] = headerPair(name, value)
  }
  if (count !== headers.length) headers.length = count
  if (repeated) headers = groupByName(raw, headers)
  const client = shared.client(request.remote)
  const server = shared.server(request.local)
  const parts: ScopeParts = {
    path: unquote(rawPath),
    rawPath,
    query,
    headers,
    rootPath,
    client,
    server,
    forwardedScheme: null,
  }
  const proxy = config.proxyHeaders
  if (proxy !== null) {
    const forwarded = forwardedFor(
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

/** `host:port` for access logs, the host alone when the port is unknown (0, on uWS), or null. */
export function describeClient(client: Address): string | null {
  if (client === null) return null
  return client[1] === 0 ? client[0] : `${client[0]}:${client[1]}`
}
