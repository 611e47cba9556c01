import { describe, expect, it } from 'vitest'
import { describeMessage, describeValue } from '../../src/util/describe.js'

class Widget {}
class Element {}

describe('describeValue', () => {
  it.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [[], 'an array'],
    [[1, 2], 'an array'],
    ['text', 'a string'],
    ['', 'a string'],
    [0, 'a number'],
    [Number.NaN, 'a number'],
    [true, 'a boolean'],
    [10n, 'a bigint'],
    [Symbol('s'), 'a symbol'],
    [() => 1, 'a function'],
    [Widget, 'a function'],
    [{}, 'an object'],
    [{ type: 'x' }, 'an object'],
    [Object.create(null), 'an object'],
    [new Uint8Array(1), 'a Uint8Array'],
    [Buffer.from('x'), 'a Buffer'],
    [new ArrayBuffer(1), 'an ArrayBuffer'],
    [new Map(), 'a Map'],
    [new Widget(), 'a Widget'],
    [new Element(), 'an Element'],
    [new URL('http://a.example/'), 'a URL'],
    [Promise.resolve(), 'a Promise'],
  ])('names %o as %s', (value, expected) => {
    expect(describeValue(value)).toBe(expected)
  })

  it('never shows the value itself', () => {
    expect(describeValue('secret-token')).not.toContain('secret')
    expect(describeValue({ password: 'secret' })).not.toContain('secret')
  })

  it('names an object whose prototype has no usable constructor an object', () => {
    const anonymous = new (class {})()
    expect(describeValue(anonymous)).toBe('an object')
    const noConstructor = Object.create({ constructor: 'not a function' }) as object
    expect(describeValue(noConstructor)).toBe('an object')
  })
})

describe('describeMessage', () => {
  it('quotes the type of a message that has a string type', () => {
    expect(describeMessage({ type: 'websocket.send' })).toBe("'websocket.send'")
    expect(describeMessage({ type: '' })).toBe("''")
  })

  it('says an object has no string type', () => {
    expect(describeMessage({})).toBe("an object without a string 'type'")
    expect(describeMessage({ type: 3 })).toBe("an object without a string 'type'")
  })

  it('names anything else as describeValue does', () => {
    expect(describeMessage(null)).toBe('null')
    expect(describeMessage(undefined)).toBe('undefined')
    expect(describeMessage('websocket.send')).toBe('a string')
    expect(describeMessage([{ type: 'x' }])).toBe('an array')
  })
})
