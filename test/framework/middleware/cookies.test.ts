import { parseSetCookie } from 'cookie'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ValueError } from '../../../src/framework/asgi/errors.js'
import type { HeaderPair, Receive, Scope, Send } from '../../../src/framework/asgi/types.js'
import {
  quoteCookieValue,
  unquoteCookieValue,
} from '../../../src/framework/middleware/cookie-format.js'
import {
  CookieMiddleware,
  deleteCookie,
  parseCookies,
  setCookie,
} from '../../../src/framework/middleware/cookies.js'

const text = (headers: HeaderPair[] | undefined) =>
  (headers ?? []).map(([n, v]) => [Buffer.from(n).toString(), Buffer.from(v).toString()])

afterEach(() => {
  vi.useRealTimers()
})

describe('setCookie', () => {
  it('test_set_cookie', () => {
    const message: { headers?: HeaderPair[] } = {}
    CookieMiddleware.setCookie(message, 'Testing-Key', 'testing-value')
    expect(text(message.headers)).toEqual([
      ['Set-Cookie', 'Testing-Key=testing-value; Path=/; SameSite=lax'],
    ])
  })

  it('writes every attribute in Django order, Max-Age in seconds with a matching expires', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) })
    const message = { type: 'http.response.start', status: 200, headers: [] as HeaderPair[] }
    setCookie(message, 'k', 'v', {
      maxAge: 3_600_000,
      domain: '.example.com',
      secure: true,
      httponly: true,
      samesite: 'Strict',
    })
    expect(text(message.headers)[0]![1]).toBe(
      'k=v; Domain=.example.com; expires=Thu, 01 Jan 2026 01:00:00 GMT; HttpOnly; Max-Age=3600; ' +
        'Path=/; SameSite=Strict; Secure',
    )
  })

  it('turns a Date expires into Max-Age, as Django does', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) })
    const message: { headers?: HeaderPair[] } = {}
    setCookie(message, 'k', 'v', { expires: new Date(Date.UTC(2026, 0, 1, 0, 0, 10)) })
    const parsed = parseSetCookie(text(message.headers)[0]![1]!)
    expect(parsed.maxAge).toBe(11)
    expect(parsed.expires?.toISOString()).toBe('2026-01-01T00:00:11.000Z')
  })

  it('keeps headers already on the message and accepts any iterable', () => {
    const message = { headers: new Set<HeaderPair>([[Buffer.from('x-a'), Buffer.from('1')]]) }
    setCookie(message, 'k', 'v')
    expect(text(message.headers as unknown as HeaderPair[]).map(([n]) => n)).toEqual([
      'x-a',
      'Set-Cookie',
    ])
  })

  it('rejects an invalid samesite', () => {
    expect(() => setCookie({}, 'k', 'v', { samesite: 'Relaxed' })).toThrow(ValueError)
    expect(() => setCookie({}, 'k', 'v', { samesite: 'Relaxed' })).toThrow(
      "samesite must be either 'strict', 'lax' or 'none'",
    )
  })

  it('leaves SameSite out when null', () => {
    const message: { headers?: HeaderPair[] } = {}
    setCookie(message, 'k', 'v', { samesite: null })
    expect(text(message.headers)[0]![1]).toBe('k=v; Path=/')
  })

  it('rejects a max age that is not a number', () => {
    expect(() => setCookie({}, 'k', 'v', { maxAge: Number.NaN })).toThrow(
      'Invalid cookie max age NaN',
    )
  })

  it('rejects illegal keys and attribute values that could inject headers', () => {
    expect(() => setCookie({}, 'bad key', 'v')).toThrow(/Illegal cookie key/)
    expect(() => setCookie({}, 'k', 'v', { path: '/; Domain=evil.com' })).toThrow(
      /must not contain/,
    )
    expect(() => setCookie({}, 'k', 'v', { domain: 'a.com\r\nX-Evil: 1' })).toThrow(
      /must not contain/,
    )
  })

  it('quotes values the way Python does, so injection is impossible', () => {
    const message: { headers?: HeaderPair[] } = {}
    setCookie(message, 'k', 'a b;c"d\r\n')
    expect(text(message.headers)[0]![1]).toBe('k="a b\\073c\\"d\\015\\012"; Path=/; SameSite=lax')
    expect(quoteCookieValue('')).toBe('""')
    expect(unquoteCookieValue('"a b\\073c\\"d\\015\\012"')).toBe('a b;c"d\r\n')
  })
})

describe('deleteCookie', () => {
  it('expires the cookie in 1970 with Max-Age=0', () => {
    const message: { headers?: HeaderPair[] } = {}
    deleteCookie(message, 'sessionid', { path: '/app/', domain: 'example.com' })
    expect(text(message.headers)[0]![1]).toBe(
      'sessionid=""; Domain=example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/app/; SameSite=lax',
    )
  })
})

describe('CookieMiddleware', () => {
  const capture = () => {
    const seen: Record<string, unknown>[] = []
    const inner = async (scope: Scope) => {
      seen.push(scope)
    }
    return { seen, inner }
  }
  const receive: Receive = async () => ({ type: 'http.disconnect' })
  const send: Send = async () => {}
  const scopeWith = (headers: [string, string][]): Scope => ({
    type: 'http',
    http_version: '1.1',
    method: 'GET',
    path: '/',
    query_string: Buffer.alloc(0),
    headers: headers.map(([n, v]) => [Buffer.from(n), Buffer.from(v, 'latin1')]),
  })

  it('parses the first cookie header into scope.cookies, latin-1 decoded and unquoted', async () => {
    const { seen, inner } = capture()
    const app = new CookieMiddleware(inner)
    const scope = scopeWith([
      ['cookie', 'a=1; b="x\\073y"; c=%20; caf\u00e9=\u00e9'],
      ['cookie', 'ignored=1'],
    ])
    await app(scope, receive, send)
    expect({ ...(seen[0]!.cookies as object) }).toEqual({
      a: '1',
      b: 'x;y',
      c: '%20',
      'caf\u00e9': '\u00e9',
    })
    // The caller's scope is not modified.
    expect('cookies' in scope).toBe(false)
  })

  it('gives {} without a cookie header', async () => {
    const { seen, inner } = capture()
    await new CookieMiddleware(inner)(scopeWith([]), receive, send)
    expect({ ...(seen[0]!.cookies as object) }).toEqual({})
  })

  it('raises ValueError for a scope without headers', async () => {
    const { inner } = capture()
    await expect(new CookieMiddleware(inner)({ type: 'lifespan' }, receive, send)).rejects.toThrow(
      'CookieMiddleware was passed a scope that did not have a headers key ' +
        '(make sure it is only passed HTTP or WebSocket connections)',
    )
  })

  it('keeps the first of repeated names', () => {
    expect({ ...parseCookies('a=1; a=2') }).toEqual({ a: '1' })
  })
})
