import { describe, expect, it } from 'vitest'
import {
  parseSubprotocols,
  validateHandshake,
  wantsWebSocket,
  websocketKey,
} from '../../../src/server/reactor/handshake.js'

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

/** A valid opening handshake's headers (flat), with `changes` applied (undefined drops one). */
function headers(changes: Record<string, string | undefined> = {}): string[] {
  const base: Record<string, string | undefined> = {
    host: 'example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13',
    ...changes,
  }
  return Object.entries(base).flatMap(([name, value]) => (value === undefined ? [] : [name, value]))
}

const status = (method: string, list: string[]) =>
  validateHandshake(method, list)?.head.status ?? null

describe('validateHandshake (RFC 6455 §4.2.1)', () => {
  it('accepts a valid handshake, with tokens in any case and in lists', () => {
    expect(status('GET', headers())).toBeNull()
    expect(
      status('GET', headers({ upgrade: 'WebSocket', connection: 'keep-alive, Upgrade' })),
    ).toBeNull()
    expect(status('GET', headers({ 'sec-websocket-key': ` ${KEY} ` }))).toBeNull()
  })

  it('refuses other methods with 405, missing tokens with 400, other versions with 426', () => {
    expect(status('POST', headers())).toBe(405)
    expect(status('GET', headers({ upgrade: undefined }))).toBe(400)
    expect(status('GET', headers({ connection: 'close' }))).toBe(400)
    expect(status('GET', headers({ 'sec-websocket-version': '8' }))).toBe(426)
    expect(
      validateHandshake('GET', headers({ 'sec-websocket-version': '8' }))?.head.headers,
    ).toContainEqual(['Sec-WebSocket-Version', '13'])
  })

  it('wants a key of 22 base64 characters and ==', () => {
    for (const bad of [
      undefined,
      '',
      'short',
      'dGhlIHNhbXBsZSBub25jZQ=',
      'dGhlIHNhbXBsZSBub25jZQ===',
      'dGhlIHNhbXBsZSBub25jZ-==',
      'dGhlIHNhbXBsZSBub25jZ.==',
      'dGhlIHNhbXBsZSBub25jZQ=A',
      'dGhlIHNhbXBsZSBub25j\u00e9Q==',
    ]) {
      expect(status('GET', headers({ 'sec-websocket-key': bad }))).toBe(400)
    }
    for (const good of ['AAAAAAAAAAAAAAAAAAAAAA==', 'zzzz++++////0000999999==', KEY]) {
      expect(status('GET', headers({ 'sec-websocket-key': good }))).toBeNull()
    }
  })

  it('reads the key, the offered subprotocols and whether a request wants a WebSocket', () => {
    expect(websocketKey(headers({ 'sec-websocket-key': ` ${KEY}` }))).toBe(KEY)
    expect(parseSubprotocols(headers({ 'sec-websocket-protocol': 'a, b ,,c' }))).toEqual([
      'a',
      'b',
      'c',
    ])
    expect(Object.isFrozen(parseSubprotocols(headers()))).toBe(true)
    expect(wantsWebSocket(headers())).toBe(true)
    expect(wantsWebSocket(['host', 'x'])).toBe(false)
    expect(wantsWebSocket(['host', 'x', 'sec-websocket-key', KEY])).toBe(true)
  })
})
