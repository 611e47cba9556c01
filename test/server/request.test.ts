import { describe, expect, it } from 'vitest'
import type { ReactorRequest } from '../../src/server/reactor/types.js'
import { resolveServerConfig } from '../../src/server/config.js'
import {
  buildScopeParts,
  checkRequest,
  SharedScopeParts,
  splitTarget,
  unquote,
} from '../../src/server/request.js'

function request(url: string, headers: [string, string][] = []): ReactorRequest {
  return {
    method: 'GET',
    url,
    httpVersion: '1.1',
    headers: headers.flat(),
    remote: { host: '127.0.0.1', port: 5000 },
    local: { host: '127.0.0.1', port: 8000 },
    tls: false,
  }
}
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1')

describe('request parsing', () => {
  it('percent-decodes paths as UTF-8 with U+FFFD for invalid bytes', () => {
    expect(unquote('/foo%2Fbar')).toBe('/foo/bar')
    expect(unquote('/te%20st-%C3%A0/')).toBe('/te st-à/')
    expect(unquote('/bad%FF')).toBe('/bad\uFFFD')
    expect(unquote('/half%2')).toBe('/half%2')
    expect(unquote('/plain')).toBe('/plain')
  })

  it('splits the target into raw path and query', () => {
    expect(splitTarget('/a?b=1?c')).toEqual(['/a', 'b=1?c'])
    expect(splitTarget('/a')).toEqual(['/a', null])
    expect(splitTarget('http://example.com/x?y')).toEqual(['/x', 'y'])
  })

  it.each(['foo bar', 'foo\x00bar', 'foo\xffbar', 'foo\x01bar', '', 'x:y', 'a\u0100'])(
    'refuses header name %j',
    (name) => {
      expect(checkRequest(request('/', [[name, 'x']]))).toBe('Invalid header name')
    },
  )

  it.each(['\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\x85', '\ufffd'])(
    'refuses header value byte %j',
    (byte) => {
      expect(checkRequest(request('/', [['x-padding', `a${byte}b`]]))).toBe('Invalid header value')
    },
  )

  it('accepts token names and values with tabs, spaces and other latin-1 bytes', () => {
    const name = "!#$%&'*+-.^_`|~09azAZ"
    expect(checkRequest(request('/', [[name, 'a\tb c\xe9\xff\x84\x86\x1f\x1b']]))).toBeNull()
  })

  it('refuses non-ASCII paths and query strings', () => {
    expect(checkRequest(request('/äöü'))).toBe('Invalid characters in path')
    expect(checkRequest(request('/?äöü'))).toBe('Invalid query string')
    expect(checkRequest(request('/ok?x=1'))).toBeNull()
    // Only path and query count: a non-ASCII host in an absolute-form target is not refused.
    expect(checkRequest(request('http://h\u00f6st.example/ok?x=1'))).toBeNull()
    expect(checkRequest(request('http://host.example/\u00e4'))).toBe('Invalid characters in path')
  })

  it('groups headers by name in first-appearance order, drops _ names, strips values', () => {
    const parts = buildScopeParts(
      request('/', [
        ['x-foo', ' 1 '],
        ['x-bar', '3'],
        ['x_evil', 'no'],
        ['x-foo', '2'],
      ]),
      resolveServerConfig(),
      new SharedScopeParts(),
    )
    expect(parts.headers.map(([n, v]) => [text(n), text(v)])).toEqual([
      ['x-foo', '1'],
      ['x-foo', '2'],
      ['x-bar', '3'],
    ])
  })

  it('groups repeated names when dropped headers sit between them', () => {
    const parts = buildScopeParts(
      request('/', [
        ['x_evil', '0'],
        ['a', '1'],
        ['daphne-root-path', '/r'],
        ['b', '2'],
        ['a', '3'],
        ['x_evil', '4'],
        ['b', '5'],
        ['c', '6'],
      ]),
      resolveServerConfig(),
      new SharedScopeParts(),
    )
    expect(parts.headers.map(([n, v]) => [text(n), text(v)])).toEqual([
      ['a', '1'],
      ['a', '3'],
      ['b', '2'],
      ['b', '5'],
      ['c', '6'],
    ])
    expect(parts.rootPath).toBe('/r')
  })

  it('takes root_path from Daphne-Root-Path (unquoted) and removes the header', () => {
    const parts = buildScopeParts(
      request('/', [
        ['daphne-root-path', '/my%20root'],
        ['a', 'b'],
      ]),
      resolveServerConfig({ rootPath: '/cfg' }),
      new SharedScopeParts(),
    )
    expect(parts.rootPath).toBe('/my root')
    expect(parts.headers.map(([n]) => text(n))).toEqual(['a'])
  })

  it('applies proxy headers only when enabled', () => {
    const headers: [string, string][] = [
      ['x-forwarded-for', '10.1.2.3'],
      ['x-forwarded-port', '80'],
      ['x-forwarded-proto', 'https'],
    ]
    const plain = buildScopeParts(
      request('/', headers),
      resolveServerConfig(),
      new SharedScopeParts(),
    )
    expect(plain.client).toEqual(['127.0.0.1', 5000])
    const parts = buildScopeParts(
      request('/', headers),
      resolveServerConfig({ proxyHeaders: true }),
      new SharedScopeParts(),
    )
    expect(parts.client).toEqual(['10.1.2.3', 80])
    expect(parts.forwardedScheme).toBe('https')
  })
})

describe('SharedScopeParts', () => {
  const local = (host: string, port: number) => ({ host, port })

  it('shares one server address per listener address, whichever object reports it', () => {
    const shared = new SharedScopeParts()
    const a = shared.server(local('127.0.0.1', 8000))
    expect(a).toEqual(['127.0.0.1', 8000])
    const b = shared.server(local('127.0.0.1', 8001))
    const v6 = shared.server(local('::1', 8000))
    expect(b).toEqual(['127.0.0.1', 8001])
    expect(v6).toEqual(['::1', 8000])
    expect(shared.server(local('127.0.0.1', 8000))).toBe(a)
    expect(shared.server(local('127.0.0.1', 8001))).toBe(b)
    expect(shared.server(null)).toBe(null)
    expect(new SharedScopeParts().server(local('127.0.0.1', 8000))).not.toBe(a)
  })

  it('shares the client address per host only when the port is unknown', () => {
    const shared = new SharedScopeParts()
    const a = shared.client({ host: '10.0.0.1', port: 0 })
    expect(a).toEqual(['10.0.0.1', 0])
    expect(shared.client({ host: '10.0.0.2', port: 0 })).toEqual(['10.0.0.2', 0])
    expect(shared.client({ host: '10.0.0.1', port: 0 })).toBe(a)
    const withPort = shared.client({ host: '10.0.0.1', port: 4000 })
    expect(withPort).toEqual(['10.0.0.1', 4000])
    expect(shared.client({ host: '10.0.0.1', port: 4000 })).not.toBe(withPort)
    expect(shared.client(null)).toBe(null)
  })

  it('stays bounded under many hosts and listener addresses, and still answers right', () => {
    const shared = new SharedScopeParts()
    for (let i = 0; i < 3000; i++) {
      const host = `10.0.${i >> 8}.${i & 255}`
      expect(shared.client({ host, port: 0 })).toEqual([host, 0])
      expect(shared.server(local(host, 80))).toEqual([host, 80])
    }
  })

  it('hands the next request for the same path the string the last one holds', () => {
    const shared = new SharedScopeParts()
    const first = '/ws/echo/'
    expect(shared.rawPath(first)).toBe(first)
    const again = ['/ws/', 'echo/'].join('')
    expect(shared.rawPath(again)).toBe(first)
    expect(shared.rawPath('/other/')).toBe('/other/')
  })
})
