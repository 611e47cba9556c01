import { describe, expect, it } from 'vitest'
import { AsgiProtocolError, ValueError } from '../../../src/framework/asgi/errors.js'
import {
  checkWebsocketSend,
  DROP,
  isValidCloseCode,
  readClose,
  readPayload,
  readSubprotocol,
  WebsocketPhase,
  websocketSendType,
} from '../../../src/framework/asgi/websocket-protocol.js'

const { Connecting, Open, Closed } = WebsocketPhase

describe('websocketSendType: what the app may send in each phase', () => {
  it.each([
    [Connecting, 'websocket.accept'],
    [Connecting, 'websocket.close'],
    [Open, 'websocket.send'],
    [Open, 'websocket.close'],
  ] as const)('phase %i takes %s', (phase, type) => {
    expect(websocketSendType(phase, { type })).toBe(type)
  })

  it.each(['websocket.accept', 'websocket.send', 'websocket.close', 'websocket.nope', ''])(
    'a closed connection drops %j',
    (type) => {
      expect(websocketSendType(Closed, { type })).toBe(null)
    },
  )

  it.each([
    [
      Connecting,
      'websocket.send',
      "Socket has not been accepted, so cannot send over it: expected ASGI message 'websocket.accept' or 'websocket.close', but got 'websocket.send'.",
    ],
    [
      Connecting,
      'websocket.nope',
      "Expected ASGI message 'websocket.accept' or 'websocket.close', but got 'websocket.nope'.",
    ],
    [
      Open,
      'websocket.accept',
      "Expected ASGI message 'websocket.send' or 'websocket.close', but got 'websocket.accept'.",
    ],
    [
      Open,
      'http.response.start',
      "Expected ASGI message 'websocket.send' or 'websocket.close', but got 'http.response.start'.",
    ],
  ] as const)('phase %i refuses %s', (phase, type, message) => {
    expect(() => websocketSendType(phase, { type })).toThrow(AsgiProtocolError)
    expect(() => websocketSendType(phase, { type })).toThrow(message)
  })

  it.each([null, undefined, 'websocket.send', 42, {}, { type: 3 }])(
    '%j has no type, in every phase (Daphne: ValueError)',
    (message) => {
      for (const phase of [Connecting, Open, Closed]) {
        expect(() => websocketSendType(phase, message)).toThrow(ValueError)
        expect(() => websocketSendType(phase, message)).toThrow('Message has no type defined')
      }
    },
  )
})

describe('reading the events', () => {
  it.each([1000, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 4999])(
    '%i is a sendable close code',
    (code) => {
      expect(isValidCloseCode(code)).toBe(true)
    },
  )

  it.each([0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000, 1000.5])('%d is not', (code) => {
    expect(isValidCloseCode(code)).toBe(false)
  })

  it('readSubprotocol takes none, or one the client offered', () => {
    expect(readSubprotocol({}, ['a'])).toBe(null)
    expect(readSubprotocol({ subprotocol: null }, [])).toBe(null)
    expect(readSubprotocol({ subprotocol: 'a' }, ['a', 'b'])).toBe('a')
    expect(() => readSubprotocol({ subprotocol: 'c' }, ['a'])).toThrow(
      `Subprotocol 'c' was not offered by the client (offered: ["a"]).`,
    )
    expect(() => readSubprotocol({ subprotocol: 5 }, ['5'])).toThrow(
      'Subprotocol expected to be a string, but got a number.',
    )
  })

  it('readPayload takes exactly one of text or bytes, empty ones included', () => {
    expect(readPayload({ text: '' })).toBe('')
    expect(readPayload({ text: 'a', bytes: null })).toBe('a')
    expect(readPayload({ bytes: Buffer.alloc(0), text: null })).toEqual(Buffer.alloc(0))
    const bytes = new Uint8Array([1])
    expect(readPayload({ bytes })).toBe(bytes)
  })

  it.each([
    [{ text: 'a', bytes: Buffer.from('b') }, "it contains both 'bytes' and 'text' keys."],
    [{}, "Invalid 'websocket.send' message: it contains neither 'bytes' nor 'text'."],
    [{ text: null, bytes: undefined }, "it contains neither 'bytes' nor 'text'."],
    [{ text: 1 }, "'text' expected to be a string, but got a number."],
    [{ bytes: 'x' }, "'bytes' expected to be a Uint8Array, but got a string."],
    [{ bytes: [1] }, "'bytes' expected to be a Uint8Array, but got an array."],
  ])('readPayload refuses %j', (event, message) => {
    expect(() => readPayload(event)).toThrow(AsgiProtocolError)
    expect(() => readPayload(event)).toThrow(message)
  })

  it('readClose defaults to 1000 and checks the code and the reason', () => {
    expect(readClose({})).toEqual([1000, ''])
    expect(readClose({ code: null, reason: null })).toEqual([1000, ''])
    expect(readClose({ code: 4000, reason: 'bye' })).toEqual([4000, 'bye'])
    expect(readClose({ reason: 'é'.repeat(61) })).toEqual([1000, 'é'.repeat(61)])
    expect(() => readClose({ code: '1000' })).toThrow(
      'Close code expected to be a number, but got a string.',
    )
    expect(() => readClose({ code: 1005 })).toThrow(
      'Invalid WebSocket close code 1005: expected 1000-1003, 1007-1014 or 3000-4999.',
    )
    expect(() => readClose({ code: 1000.5 })).toThrow(/Invalid WebSocket close code 1000.5/)
    expect(() => readClose({ reason: 'x'.repeat(124) })).toThrow(
      'Close reason must be at most 123 bytes of UTF-8.',
    )
    expect(() => readClose({ reason: 'é'.repeat(62) })).toThrow(/at most 123 bytes/)
    expect(() => readClose({ reason: 5 })).toThrow(
      'Close reason expected to be a string, but got a number.',
    )
  })
})

describe('checkWebsocketSend: the protocol for a stand-in server', () => {
  it('walks a connection through accept, sends and close, then drops', () => {
    let phase = checkWebsocketSend(Connecting, { type: 'websocket.accept', subprotocol: 'a' }, [
      'a',
    ])
    expect(phase).toBe(Open)
    phase = checkWebsocketSend(Open, { type: 'websocket.send', text: 'x' }, [])
    expect(phase).toBe(Open)
    phase = checkWebsocketSend(Open, { type: 'websocket.close', code: 4000 }, [])
    expect(phase).toBe(Closed)
    expect(checkWebsocketSend(Closed, { type: 'websocket.send', text: 'late' }, [])).toBe(DROP)
    expect(checkWebsocketSend(Closed, { type: 'websocket.accept' }, [])).toBe(DROP)
  })

  it('a close before accept is a rejection: its code is not read', () => {
    expect(checkWebsocketSend(Connecting, { type: 'websocket.close', code: 1005 }, [])).toBe(Closed)
  })

  it('reads every event as the server does', () => {
    expect(() =>
      checkWebsocketSend(Connecting, { type: 'websocket.accept', subprotocol: 'b' }, ['a']),
    ).toThrow(/Subprotocol 'b' was not offered/)
    expect(() => checkWebsocketSend(Open, { type: 'websocket.send' }, [])).toThrow(
      /neither 'bytes' nor 'text'/,
    )
    expect(() => checkWebsocketSend(Open, { type: 'websocket.close', code: 1006 }, [])).toThrow(
      /Invalid WebSocket close code 1006/,
    )
    expect(() => checkWebsocketSend(Open, { type: 'websocket.accept' }, [])).toThrow(
      /but got 'websocket.accept'/,
    )
  })
})
