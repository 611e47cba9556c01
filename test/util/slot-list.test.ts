import { describe, expect, it } from 'vitest'
import { SlotList } from '../../src/util/slot-list.js'

const item = (id: number) => ({ id, slot: -1 })

describe('SlotList', () => {
  it('adds and deletes by slot, keeping every other member reachable', () => {
    const list = new SlotList<ReturnType<typeof item>>()
    const items = Array.from({ length: 10 }, (_, i) => item(i))
    for (const x of items) list.add(x)
    expect(list.size).toBe(10)
    expect(list.delete(items[3]!)).toBe(true)
    expect(list.delete(items[3]!)).toBe(false)
    expect(items[3]!.slot).toBe(-1)
    expect(list.delete(items[9]!)).toBe(true)
    expect(
      list
        .toArray()
        .map((x) => x.id)
        .sort((a, b) => a - b),
    ).toEqual([0, 1, 2, 4, 5, 6, 7, 8])
    for (const x of list.toArray()) expect(list.toArray()[x.slot]).toBe(x)
  })

  it('refuses a member of another list', () => {
    const a = new SlotList<ReturnType<typeof item>>()
    const b = new SlotList<ReturnType<typeof item>>()
    const x = item(1)
    const y = item(2)
    a.add(x)
    b.add(y)
    expect(b.delete(x)).toBe(false)
    expect(a.size).toBe(1)
  })

  it('visits every member once even when each removes itself', () => {
    const list = new SlotList<ReturnType<typeof item>>()
    for (let i = 0; i < 50; i++) list.add(item(i))
    const seen: number[] = []
    list.forEachRemovable((x) => {
      seen.push(x.id)
      if (x.id % 2 === 0) list.delete(x)
    })
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(list.size).toBe(25)
  })
})
