import { describe, expect, it } from 'vitest'
import type { ReactorRequest } from '../../src/server/reactor/types.js'
import { resolveServerConfig } from '../../src/server/config.js'
import { buildScopeParts, SharedScopeParts } from '../../src/server/request.js'
import { headerPair, pathBytes } from '../../src/server/shared-bytes.js'

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1')
const config = resolveServerConfig({})

function request(headers: [string, string][], port = 0, host = '10.0.0.1'): ReactorRequest {
  return {
    method: 'GET',
    url: '/ws/',
    httpVersion: '1.1',
    headers: headers.flat(),
    remote: { host, port },
    local: { host: '127.0.0.1', port: 8000 },
    tls: false,
  }
}

describe('shared scope bytes', () => {
  it('shares frozen pairs for low-cardinality headers', () => {
    const a = headerPair('host', 'example.com')
    const b = headerPair('host', 'example.com')
    expect(b).toBe(a)
    expect(Object.isFrozen(a)).toBe(true)
    expect(() => {
      ;(a as unknown as unknown[])[1] = Buffer.from('x')
    }).toThrow(TypeError)
    expect(a.map(text)).toEqual(['host', 'example.com'])
    expect(headerPair('host', 'other.example')).not.toBe(a)
  })

  it('never shares per-connection values such as the handshake key or cookies', () => {
    const a = headerPair('sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ==')
    const b = headerPair('sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ==')
    expect(b).not.toBe(a)
    expect(b[1]).not.toBe(a[1])
    expect(headerPair('cookie', 'a=1')).not.toBe(headerPair('cookie', 'a=1'))
    expect(a.map(text)).toEqual(['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ=='])
  })

  it('stays correct when a shared header sees more distinct values than it keeps', () => {
    for (let i = 0; i < 1000; i++) {
      expect(headerPair('user-agent', `agent/${i}`).map(text)).toEqual(['user-agent', `agent/${i}`])
    }
    const long = 'x'.repeat(5000)
    expect(headerPair('user-agent', long)).not.toBe(headerPair('user-agent', long))
    expect(text(headerPair('user-agent', long)[1])).toBe(long)
  })

  it('shares path bytes, and still encodes latin-1 correctly', () => {
    expect(pathBytes('/ws/chat/')).toBe(pathBytes('/ws/chat/'))
    expect(text(pathBytes('/caf\xe9/'))).toBe('/caf\xe9/')
    for (let i = 0; i < 3000; i++) expect(text(pathBytes(`/p/${i}`))).toBe(`/p/${i}`)
  })

  it('shares the client address per host when the reactor knows no port, and the server address per listener', () => {
    const shared = new SharedScopeParts()
    const a = buildScopeParts(request([['host', 'x']]), config, shared)
    const b = buildScopeParts(request([['host', 'x']]), config, shared)
    const other = buildScopeParts(request([], 0, '10.0.0.2'), config, shared)
    const withPort = buildScopeParts(request([], 4000), config, shared)
    expect(a.client).toEqual(['10.0.0.1', 0])
    expect(b.client).toBe(a.client)
    expect(other.client).toEqual(['10.0.0.2', 0])
    expect(withPort.client).toEqual(['10.0.0.1', 4000])
    expect(withPort.client).not.toBe(a.client)
    expect(a.headers).toHaveLength(1)
    expect(b.headers[0]).toBe(a.headers[0])
    const local = { host: '127.0.0.1', port: 8000 }
    const first = buildScopeParts({ ...request([]), local }, config, shared)
    const second = buildScopeParts({ ...request([]), local }, config, shared)
    expect(first.server).toEqual(['127.0.0.1', 8000])
    expect(second.server).toBe(first.server)
    const elsewhere = buildScopeParts(
      { ...request([]), local: { host: '::1', port: 9000 } },
      config,
      shared,
    )
    expect(elsewhere.server).toEqual(['::1', 9000])
  })

  it('builds a headers array without spare or missing entries when names are dropped', () => {
    const parts = buildScopeParts(
      request([
        ['host', 'x'],
        ['x_bad', '1'],
        ['accept', '*/*'],
      ]),
      config,
      new SharedScopeParts(),
    )
    expect(parts.headers).toHaveLength(2)
    expect(parts.headers.map(([n, v]) => [text(n), text(v)])).toEqual([
      ['host', 'x'],
      ['accept', '*/*'],
    ])
  })
})

describe('headerPair lookups', () => {
  it('gives the same frozen pair for a repeated value, alternating values included', () => {
    const a1 = headerPair('host', 'a.example:8000')
    const b1 = headerPair('host', 'b.example:8000')
    const a2 = headerPair('host', `a.example:8000`)
    expect(a2).toBe(a1)
    expect(headerPair('host', 'b.example:8000')).toBe(b1)
    expect(Object.isFrozen(a1)).toBe(true)
    expect(Buffer.from(a1[1]).toString('latin1')).toBe('a.example:8000')
  })

  it('shares name bytes but never values of per-client headers, known or not', () => {
    const k1 = headerPair('sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ==')
    const k2 = headerPair('sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ==')
    expect(k1).not.toBe(k2)
    expect(k1[0]).toBe(k2[0])
    const x1 = headerPair('x-custom', 'v')
    const x2 = headerPair('x-custom', 'v')
    expect(x1).not.toBe(x2)
    expect(x1[0]).toBe(x2[0])
    expect(Buffer.from(x2[0]).toString('latin1')).toBe('x-custom')
  })
})
