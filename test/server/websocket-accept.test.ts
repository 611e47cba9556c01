import { describe, expect, it } from 'vitest'
import { AsgiProtocolError } from '../../src/framework/asgi/errors.js'
import { acceptHeaders } from '../../src/server/protocols/websocket.js'

describe('acceptHeaders: the 101 headers from a websocket.accept', () => {
  it('puts Server first unless the app set one; strings and bytes both work', () => {
    expect(acceptHeaders([['x-a', Buffer.from('1')]], 'srv')).toEqual([
      ['Server', 'srv'],
      ['x-a', '1'],
    ])
    expect(acceptHeaders([[Buffer.from('Server'), 'mine']], 'srv')).toEqual([['Server', 'mine']])
    expect(acceptHeaders([['x', '1']], '')).toEqual([['x', '1']])
  })

  it('without headers: only Server, or nothing without a server name', () => {
    expect(acceptHeaders(undefined, 'srv')).toEqual([['Server', 'srv']])
    expect(acceptHeaders(null, '')).toEqual([])
    expect(acceptHeaders([], 'srv')).toEqual([['Server', 'srv']])
  })

  it('refuses headers that would break the 101, worded like Daphne', () => {
    expect(() => acceptHeaders([['x', 'a\r\nb: c']], '')).toThrow(AsgiProtocolError)
    expect(() => acceptHeaders([['x', 'a\r\nb: c']], '')).toThrow(/Invalid header value/)
    expect(() => acceptHeaders([['bad name', 'x']], '')).toThrow("Invalid header name 'bad name'")
    expect(() => acceptHeaders([['x', 5]], '')).toThrow(
      "Header value '5' expected to be a Uint8Array or a string, but got a number.",
    )
  })
})
