import { describe, expect, it } from 'vitest'
import { AsgiProtocolError } from '../../src/framework/asgi/errors.js'
import {
  isValidCloseCode,
  readAccept,
  readClose,
  readPayload,
} from '../../src/server/protocols/websocket-events.js'

describe('WebSocket event readers', () => {
  it.each([1000, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 4999])(
    '%i is a sendable close code',
    (code) => {
      expect(isValidCloseCode(code)).toBe(true)
    },
  )

  it.each([0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000, 1000.5])('%d is not', (code) => {
    expect(isValidCloseCode(code)).toBe(false)
  })

  it('readAccept puts Server first unless the app set one; strings and bytes both work', () => {
    expect(
      readAccept({ subprotocol: 'b', headers: [['x-a', Buffer.from('1')]] }, ['a', 'b'], 'srv'),
    ).toEqual({
      subprotocol: 'b',
      headers: [
        ['Server', 'srv'],
        ['x-a', '1'],
      ],
    })
    expect(readAccept({ headers: [[Buffer.from('Server'), 'mine']] }, [], 'srv').headers).toEqual([
      ['Server', 'mine'],
    ])
    expect(readAccept({}, [], '')).toEqual({ subprotocol: null, headers: [] })
  })

  it('readAccept without subprotocol or headers shares one frozen answer per server name', () => {
    const first = readAccept({ type: 'websocket.accept' }, ['a'], 'srv')
    expect(first).toEqual({ subprotocol: null, headers: [['Server', 'srv']] })
    expect(readAccept({ subprotocol: null, headers: null }, [], 'srv')).toBe(first)
    expect(Object.isFrozen(first) && Object.isFrozen(first.headers)).toBe(true)
    expect(readAccept({}, [], 'other')).toEqual({
      subprotocol: null,
      headers: [['Server', 'other']],
    })
    expect(readAccept({}, [], 'srv')).toEqual(first)
    expect(readAccept({ subprotocol: 'a' }, ['a'], 'srv')).toEqual({
      subprotocol: 'a',
      headers: [['Server', 'srv']],
    })
  })

  it('readAccept refuses an unoffered subprotocol and bad headers', () => {
    expect(() => readAccept({ subprotocol: 'c' }, ['a'], '')).toThrow(AsgiProtocolError)
    expect(() => readAccept({ headers: [['x', 'a\r\nb: c']] }, [], '')).toThrow(
      /Invalid header value/,
    )
    expect(() => readAccept({ headers: [['x', 5]] }, [], '')).toThrow(
      "Header value '5' expected to be `bytes`, but got `number`",
    )
  })

  it('readPayload takes exactly one of text or bytes, empty ones included', () => {
    expect(readPayload({ text: '' })).toBe('')
    expect(readPayload({ bytes: Buffer.alloc(0), text: null })).toEqual(Buffer.alloc(0))
    expect(() => readPayload({ text: 1 })).toThrow(/'text' expected to be a string/)
    expect(() => readPayload({ bytes: 'x' })).toThrow(/'bytes' expected to be bytes/)
  })

  it('readClose defaults to 1000 and checks the reason', () => {
    expect(readClose({})).toEqual([1000, ''])
    expect(readClose({ code: 4000, reason: 'bye' })).toEqual([4000, 'bye'])
    expect(() => readClose({ code: '1000' })).toThrow(/Invalid WebSocket close code/)
    expect(() => readClose({ reason: 'x'.repeat(124) })).toThrow(/at most 123 bytes/)
    expect(() => readClose({ reason: 5 })).toThrow(/Close reason expected to be a string/)
  })
})
