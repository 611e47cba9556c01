import { describe, expect, it } from 'vitest'
import { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import { sameChannelLayerConfigs } from '../../../src/framework/layers/config-equal.js'

describe('sameChannelLayerConfigs', () => {
  const base = () => ({
    default: {
      BACKEND: 'channels.layers.InMemoryChannelLayer',
      CONFIG: { capacity: 10, channel_capacity: [[/^ws\./, 5]] },
    },
  })

  it('is true for structurally equal configs built twice', () => {
    expect(sameChannelLayerConfigs(base(), base())).toBe(true)
    expect(sameChannelLayerConfigs({}, {})).toBe(true)
    expect(sameChannelLayerConfigs(undefined, undefined)).toBe(true)
  })

  it('compares BACKEND classes and factories by identity', () => {
    class Custom extends InMemoryChannelLayer {}
    expect(sameChannelLayerConfigs({ a: { BACKEND: Custom } }, { a: { BACKEND: Custom } })).toBe(
      true,
    )
    class Reloaded extends InMemoryChannelLayer {}
    expect(sameChannelLayerConfigs({ a: { BACKEND: Custom } }, { a: { BACKEND: Reloaded } })).toBe(
      false,
    )
  })

  it.each([
    ['a changed value', { default: { BACKEND: 'x', CONFIG: { capacity: 11 } } }],
    ['an extra alias', { ...base(), other: { BACKEND: 'x' } }],
    [
      'a changed RegExp',
      {
        default: { ...base().default, CONFIG: { capacity: 10, channel_capacity: [[/^ws\./i, 5]] } },
      },
    ],
    ['an array for an object', []],
    ['null', null],
  ])('is false for %s', (_label, other) => {
    expect(sameChannelLayerConfigs(base(), other)).toBe(false)
  })

  it('compares Maps by entries', () => {
    const m = () => new Map([['a.*', 1]])
    expect(sameChannelLayerConfigs(m(), m())).toBe(true)
    expect(sameChannelLayerConfigs(m(), new Map([['a.*', 2]]))).toBe(false)
    expect(sameChannelLayerConfigs(m(), new Map([['b.*', 1]]))).toBe(false)
  })

  it('treats cycles as different instead of overflowing', () => {
    const a: Record<string, unknown> = {}
    a.self = a
    const b: Record<string, unknown> = {}
    b.self = b
    expect(sameChannelLayerConfigs(a, b)).toBe(false)
  })
})
