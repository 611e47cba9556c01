/**
 * Set-Cookie lines formatted the way Django's `SimpleCookie` writes them (attribute order,
 * `expires=` spelling, Python's value quoting), and the matching unquoting for parsing.
 * @module
 */
import { ValueError } from '../asgi/errors.js'

// Python's http.cookies._LegalChars: values made only of these go out unquoted.
const LEGAL_VALUE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/
const UNESCAPED = new Set(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~: ()/<=>?@[]{}",
)
// RFC 6265 cookie-name (a token), what http.cookies accepts as a key.
const LEGAL_KEY = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/
// Attribute values are written verbatim: refuse anything that could end the attribute or line.
const UNSAFE_ATTRIBUTE = /[;\r\n\0]/

/** Python's `http.cookies._quote`: legal values as they are, anything else double-quoted. */
export function quoteCookieValue(value: string): string {
  if (LEGAL_VALUE.test(value)) return value
  let out = '"'
  for (const ch of value) {
    const code = ch.codePointAt(0)!
    if (ch === '"' || ch === '\\') out += `\\${ch}`
    else if (code < 256 && !UNESCAPED.has(ch)) out += `\\${code.toString(8).padStart(3, '0')}`
    else out += ch
  }
  return `${out}"`
}

/** Python's `http.cookies._unquote`: strips double quotes and undoes `\"` and `\012` escapes. */
export function unquoteCookieValue(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value
  return value
    .slice(1, -1)
    .replace(/\\(?:([0-3][0-7][0-7])|(.))/gs, (_m, octal: string | undefined, ch: string) =>
      octal === undefined ? ch : String.fromCharCode(parseInt(octal, 8)),
    )
}

/** Attributes of one Set-Cookie line; `maxAge` in SECONDS here (the wire unit). */
export interface CookieAttributes {
  maxAge?: number | null
  expires?: string | null
  path?: string | null
  domain?: string | null
  secure?: boolean | null
  httponly?: boolean | null
  samesite?: string | null
}

/**
 * One Set-Cookie value, attributes in Python's sorted order
 * (`Domain; expires; HttpOnly; Max-Age; Path; SameSite; Secure`), empty ones left out.
 */
export function formatSetCookie(key: string, value: string, attrs: CookieAttributes): string {
  if (!LEGAL_KEY.test(key)) throw new ValueError(`Illegal cookie key ${JSON.stringify(key)}`)
  const parts = [`${key}=${quoteCookieValue(value)}`]
  if (attrs.domain) parts.push(`Domain=${checked('domain', attrs.domain)}`)
  if (attrs.expires) parts.push(`expires=${checked('expires', attrs.expires)}`)
  if (attrs.httponly) parts.push('HttpOnly')
  if (attrs.maxAge !== undefined && attrs.maxAge !== null) {
    if (!Number.isInteger(attrs.maxAge))
      throw new ValueError(`Invalid cookie max age ${attrs.maxAge}`)
    parts.push(`Max-Age=${attrs.maxAge}`)
  }
  if (attrs.path) parts.push(`Path=${checked('path', attrs.path)}`)
  if (attrs.samesite) parts.push(`SameSite=${attrs.samesite}`)
  if (attrs.secure) parts.push('Secure')
  return parts.join('; ')
}

function checked(name: string, value: string): string {
  if (UNSAFE_ATTRIBUTE.test(value)) {
    throw new ValueError(
      `Cookie ${name} must not contain ';', CR, LF or NUL: ${JSON.stringify(value)}`,
    )
  }
  return value
}
