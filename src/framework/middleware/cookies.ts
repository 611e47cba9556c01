/**
 * Cookies: Channels' `CookieMiddleware` (parses the request's Cookie header into
 * `scope.cookies`) and the `setCookie`/`deleteCookie` helpers for HTTP response messages.
 * @module
 */
import { parse } from 'cookie'
import { ValueError } from '../asgi/errors.js'
import { getHeader } from '../asgi/headers.js'
import type { HeaderPair, Receive, Scope, Send } from '../asgi/types.js'
import { BaseMiddleware } from './base.js'
import { formatSetCookie, unquoteCookieValue } from './cookie-format.js'
import { ScopeCopier } from '../asgi/scope-copy.js'

/** Options of {@link setCookie}. `maxAge` is in MILLISECONDS (sent as whole seconds). */
export interface SetCookieOptions {
  maxAge?: number | null
  /** An HTTP date string (sent as is) or a Date (converted to Max-Age, as Django does). */
  expires?: string | Date | null
  path?: string | null
  domain?: string | null
  secure?: boolean | null
  httponly?: boolean | null
  /** `'strict'`, `'lax'` or `'none'` in any case (sent as given); `null` leaves it out. */
  samesite?: string | null
}

/** A message that can carry headers (an `http.response.start`). */
export interface MessageWithHeaders {
  headers?: Iterable<HeaderPair> | undefined
}

const SAMESITE_VALUES = new Set(['strict', 'lax', 'none'])

/**
 * Parse a Cookie header (the `cookie` package, values unquoted like Django's `parse_cookie`,
 * no percent-decoding). A repeated name keeps its first value, the most specific path's.
 */
export function parseCookies(header: string): Record<string, string> {
  return parse(header, { decode: unquoteCookieValue }) as Record<string, string>
}

/**
 * Append a `Set-Cookie` header to `message.headers` (Channels' `CookieMiddleware.set_cookie`).
 * With no options: `key=value; Path=/; SameSite=lax`.
 */
export function setCookie(
  message: MessageWithHeaders,
  key: string,
  value: unknown = '',
  options: SetCookieOptions = {},
): void {
  const { path = '/', domain = null, secure = false, httponly = false, samesite = 'lax' } = options
  let maxAge = options.maxAge == null ? null : Math.floor(options.maxAge / 1000)
  let expires: string | null = null
  if (options.expires instanceof Date) {
    // Django turns a datetime into max_age, adding a second for the fraction lost on the way.
    maxAge = Math.max(0, Math.floor((options.expires.getTime() - Date.now()) / 1000) + 1)
  } else if (options.expires) {
    expires = options.expires
  }
  // Browsers without Max-Age support still need an Expires date.
  if (maxAge !== null && !expires) expires = new Date(Date.now() + maxAge * 1000).toUTCString()
  if (samesite !== null && !SAMESITE_VALUES.has(samesite.toLowerCase())) {
    throw new ValueError("samesite must be either 'strict', 'lax' or 'none'")
  }
  const line = formatSetCookie(key, String(value), {
    maxAge,
    expires,
    path,
    domain,
    secure,
    httponly,
    samesite,
  })
  const headers = Array.isArray(message.headers) ? message.headers : [...(message.headers ?? [])]
  headers.push([Buffer.from('Set-Cookie'), Buffer.from(line, 'utf8')])
  message.headers = headers
}

/** Expire a cookie in the browser: empty value, `Max-Age=0`, an Expires date in 1970. */
export function deleteCookie(
  message: MessageWithHeaders,
  key: string,
  options: { path?: string | null; domain?: string | null } = {},
): void {
  setCookie(message, key, '', {
    maxAge: 0,
    expires: new Date(0).toUTCString(),
    path: options.path ?? '/',
    domain: options.domain ?? null,
  })
}

/**
 * `scope.cookies` of a request without a Cookie header: one frozen empty object, shared (every
 * idle WebSocket keeps its scope; most carry no cookie).
 */
const NO_COOKIES: Record<string, string> = Object.freeze({})

/** The scope copy passed down (asgi/scope-copy.ts). */
const COOKIES_SCOPE = new ScopeCopier(['cookies'])

/**
 * Puts the request's cookies in `scope.cookies` (an object; a shared frozen `{}` without a
 * Cookie header). Only the first Cookie header is read, latin-1 decoded, as in Channels.
 */
export class CookieMiddleware extends BaseMiddleware {
  /** Same as the module's {@link setCookie} (Channels' classmethod). */
  static setCookie = setCookie
  /** Same as the module's {@link deleteCookie}. */
  static deleteCookie = deleteCookie

  // Not async: the inner app's promise is returned as is (no frame kept per connection).
  override asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    try {
      if (!('headers' in scope)) {
        throw new ValueError(
          'CookieMiddleware was passed a scope that did not have a headers key ' +
            '(make sure it is only passed HTTP or WebSocket connections)',
        )
      }
      const header = getHeader(scope.headers as Iterable<HeaderPair>, 'cookie')
      const cookies = header === undefined ? NO_COOKIES : parseCookies(header)
      return this.enter(scope, cookies, receive, send)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Runs the inner app with `cookies` added to a copy of `scope` (may throw synchronously). A
   * hook for AuthMiddlewareStack, which builds the whole stack's scope in one copy.
   */
  protected enter(
    scope: Scope,
    cookies: Record<string, string>,
    receive: Receive,
    send: Send,
  ): Promise<void> {
    return this.inner(COOKIES_SCOPE.copy(scope, cookies), receive, send)
  }
}
