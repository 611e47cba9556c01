/**
 * Channels' origin matching rules (`OriginValidator.valid_origin` and Django's
 * `is_same_domain`), as pure functions.
 * @module
 */

/** The parts of an Origin header the rules look at. */
export interface ParsedOrigin {
  scheme: string
  hostname: string
  /** The explicit port, or null. */
  port: number | null
}

const URL_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/

/**
 * Parse `scheme://[userinfo@]host[:port]`. Null when there is no scheme or host, or the port is
 * not a number in 0–65535: such origins (`''`, `'null'`, `'something-invalid'`) never match.
 */
export function parseOrigin(value: string): ParsedOrigin | null {
  const match = URL_RE.exec(value.trim())
  if (match === null) return null
  const hostPort = hostAndPort(match[2]!)
  if (hostPort === null || hostPort.hostname === '') return null
  return { scheme: match[1]!.toLowerCase(), ...hostPort }
}

function hostAndPort(netloc: string): { hostname: string; port: number | null } | null {
  const authority = netloc.slice(netloc.lastIndexOf('@') + 1)
  let hostname: string
  let portText: string | undefined
  if (authority.startsWith('[')) {
    // IPv6 literal: the brackets are not part of the hostname (as Python's urlparse).
    const end = authority.indexOf(']')
    if (end < 0) return null
    hostname = authority.slice(1, end)
    const rest = authority.slice(end + 1)
    if (rest !== '' && !rest.startsWith(':')) return null
    portText = rest === '' ? undefined : rest.slice(1)
  } else {
    const colon = authority.indexOf(':')
    hostname = colon < 0 ? authority : authority.slice(0, colon)
    portText = colon < 0 ? undefined : authority.slice(colon + 1)
  }
  let port: number | null = null
  if (portText !== undefined && portText !== '') {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return null
    port = Number(portText)
  }
  return { hostname: hostname.toLowerCase(), port }
}

/**
 * Django's `is_same_domain`: `pattern` equals `host`, or starts with `.` and `host` is that
 * domain or a subdomain of it. Case-insensitive.
 */
export function isSameDomain(host: string, pattern: string): boolean {
  if (!pattern) return false
  const p = pattern.toLowerCase()
  const h = host.toLowerCase()
  return (p.startsWith('.') && (h.endsWith(p) || h === p.slice(1))) || p === h
}

/** 80 for http/ws, 443 for https/wss, else null. */
export function defaultPort(scheme: string): number | null {
  if (scheme === 'http' || scheme === 'ws') return 80
  if (scheme === 'https' || scheme === 'wss') return 443
  return null
}

/**
 * Whether `origin` (null: no Origin header) matches one of `patterns`:
 * - `'*'` matches anything, a missing Origin included;
 * - a pattern without a scheme is a host (leading `.` = with subdomains); ports are ignored;
 * - `scheme://host[:port]` must match scheme, host and port (default ports filled in).
 * `'*.example.com'` is not a wildcard and matches nothing.
 */
export function originAllowed(origin: ParsedOrigin | null, patterns: readonly string[]): boolean {
  return patterns.some(
    (pattern) => pattern === '*' || (origin !== null && matches(origin, pattern)),
  )
}

function matches(origin: ParsedOrigin, pattern: string): boolean {
  const lowered = pattern.toLowerCase()
  const withScheme = URL_RE.exec(lowered)
  if (withScheme === null) {
    // Python's urlparse would read 'host:8000' as scheme 'host' and never match; we take the
    // host and ignore the port, as for every scheme-less pattern.
    const hostPort = hostAndPort(lowered)
    return hostPort !== null && isSameDomain(origin.hostname, hostPort.hostname)
  }
  const scheme = withScheme[1]!
  const hostPort = hostAndPort(withScheme[2]!)
  if (hostPort === null || scheme !== origin.scheme) return false
  const originPort = origin.port ?? defaultPort(origin.scheme)
  const patternPort = hostPort.port ?? defaultPort(scheme)
  return originPort === patternPort && isSameDomain(origin.hostname, hostPort.hostname)
}
