import { describe, expect, it } from 'vitest'
import { ValueError } from '../../../src/framework/asgi/errors.js'
import {
  capacityFor,
  checkCapacity,
  compileCapacities,
  globToRegExp,
} from '../../../src/framework/layers/capacity.js'

describe('globToRegExp (fnmatch.translate)', () => {
  it.each([
    ['*', 'anything.at!all', true],
    ['http.*', 'http.request', true],
    ['http.*', 'http.', true],
    ['http.*', 'xhttp.request', false],
    ['http.*', 'httpXrequest', false],
    ['ws.?', 'ws.a', true],
    ['ws.?', 'ws.ab', false],
    ['[abc]x', 'bx', true],
    ['[abc]x', 'dx', false],
    ['[!abc]x', 'dx', true],
    ['[!abc]x', 'ax', false],
    ['[a-c]x', 'bx', true],
    ['[]]x', ']x', true],
    ['[!]]x', 'ax', true],
    ['[!]]x', ']x', false],
    ['[^a]x', '^x', true],
    ['[^a]x', 'bx', false],
    ['a[b', 'a[b', true],
    ['a**b', 'a.x.b', true],
    ['a+b', 'a+b', true],
    ['a+b', 'aab', false],
    ['(x)|y', '(x)|y', true],
    ['(x)|y', 'y', false],
    ['a\\b', 'a\\b', true],
  ])('%s against %s → %s', (glob, name, matches) => {
    expect(globToRegExp(glob).test(name)).toBe(matches)
  })

  it('throws ValueError for an invalid range', () => {
    expect(() => globToRegExp('[z-a]')).toThrow(ValueError)
  })
})

describe('compileCapacities / capacityFor', () => {
  it('keeps the order of the input, first match wins', () => {
    const rules = compileCapacities([
      ['a.*', 1],
      ['*', 2],
      [/^a/, 3],
    ])
    expect(capacityFor(rules, 'a.b', 9)).toBe(1)
    expect(capacityFor(rules, 'abc', 9)).toBe(2)
    expect(capacityFor([], 'abc', 9)).toBe(9)
  })

  it('accepts undefined and null as no rules', () => {
    expect(compileCapacities(undefined)).toEqual([])
    expect(compileCapacities(null)).toEqual([])
  })

  it('checkCapacity allows Infinity and refuses the rest', () => {
    expect(checkCapacity(Infinity, 'capacity')).toBe(Infinity)
    expect(checkCapacity(1, 'capacity')).toBe(1)
    expect(() => checkCapacity(-1, 'capacity')).toThrow(ValueError)
    expect(() => checkCapacity('1', 'capacity')).toThrow(TypeError)
  })
})
