import { describe, expect, it } from 'vitest'
import { createTurnBuffer } from '../../src/cli/turn-buffer.js'

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('createTurnBuffer', () => {
  it('passes one turn of writes on as one write, in order, when the turn ends', async () => {
    const writes: string[] = []
    const buffer = createTurnBuffer((text) => writes.push(text))
    buffer.write('a\n')
    buffer.write('b\n')
    await Promise.resolve()
    buffer.write('c\n')
    expect(writes).toEqual([])
    await nextTurn()
    expect(writes).toEqual(['a\nb\nc\n'])
    buffer.write('d\n')
    await nextTurn()
    expect(writes).toEqual(['a\nb\nc\n', 'd\n'])
  })

  it('flush passes on what was gathered at once, and the turn end then writes nothing more', async () => {
    const writes: string[] = []
    const buffer = createTurnBuffer((text) => writes.push(text))
    buffer.write('x\n')
    buffer.flush()
    expect(writes).toEqual(['x\n'])
    await nextTurn()
    expect(writes).toEqual(['x\n'])
    buffer.flush()
    expect(writes).toEqual(['x\n'])
  })
})
