/**
 * Who may see the dashboard. With a token (`serve --dashboard`), a request must carry it: as
 * `Authorization: Bearer <token>`, as the cookie the page sets, or once as `?token=` on the page
 * (which sets the cookie and redirects to drop it from the address bar). Without a token
 * (runserver in DEBUG), a `allowHost` predicate keeps DNS-rebinding sites out. Either way a
 * WebSocket's Origin must be the dashboard's own host, so another site open in the browser
 * cannot read the dashboard or close connections through it.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { HttpScope, WebSocketScope } from '../../framework/asgi/types.js'

/** The cookie the page's `?token=` sets. */
export const TOKEN_COOKIE = 'channels_dashboard'

/** How the dashboard is guarded. */
export interface DashboardAccess {
  /** The token every request must carry; null: none (runserver in DEBUG). */
  token: string | null
  /** Host header values (`host[:port]`) served; default any. */
  allowHost?: (host: string) => boolean
}

/** What the check decided: allowed, or refused with the reason (logged, never sent). */
export type AccessDecision =
  { ok: true; tokenFromQuery: string | null } | { ok: false; reason: string }

/** A request header's value (latin-1), the first of its name; null when absent. */
export function header(scope: HttpScope | WebSocketScope, name: string): string | null {
  for (const [key, value] of scope.headers) {
    if (Buffer.from(key).toString('latin1').toLowerCase() === name)
      return Buffer.from(value).toString('latin1')
  }
  return null
}

/** `name`'s value in a Cookie header. */
function cookie(text: string | null, name: string): string | null {
  if (text === null) return null
  for (const part of text.split(';')) {
    const at = part.indexOf('=')
    if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim()
  }
  return null
}

function queryToken(scope: HttpScope | WebSocketScope): string | null {
  const query = Buffer.from(scope.query_string).toString('latin1')
  return new URLSearchParams(query).get('token')
}

/** Equal tokens, in time that does not depend on where they differ. */
function sameToken(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

/** Decide whether `scope` may reach the dashboard. */
export function checkAccess(
  scope: HttpScope | WebSocketScope,
  access: DashboardAccess,
): AccessDecision {
  const host = header(scope, 'host') ?? ''
  if (access.allowHost !== undefined && !access.allowHost(host))
    return { ok: false, reason: `host '${host}' is not allowed` }
  if (scope.type === 'websocket') {
    const origin = header(scope, 'origin')
    if (origin !== null && originHost(origin) !== host.toLowerCase())
      return { ok: false, reason: `origin '${origin}' is not this host` }
  }
  if (access.token === null) return { ok: true, tokenFromQuery: null }
  const bearer = /^Bearer\s+(.+)$/i.exec(header(scope, 'authorization') ?? '')?.[1]
  const fromQuery = queryToken(scope)
  for (const candidate of [bearer, cookie(header(scope, 'cookie'), TOKEN_COOKIE), fromQuery]) {
    if (candidate === undefined || candidate === null) continue
    if (sameToken(candidate, access.token))
      return { ok: true, tokenFromQuery: candidate === fromQuery ? candidate : null }
  }
  return { ok: false, reason: 'no valid token' }
}

/** `host[:port]` of an Origin header, lower-cased (`null` and unparsable origins give ''). */
function originHost(origin: string): string {
  try {
    return new URL(origin).host.toLowerCase()
  } catch {
    return ''
  }
}
