import { describe, expect, it } from 'vitest'
import { CancelledError } from '../../src/asgi/errors.js'
import { ReceiveQueue } from '../../src/server/receive-queue.js'

describe('ReceiveQueue', () => {
  it('delivers queued events in order', async () => {
    const queue = new ReceiveQueue<number>()
    for (let i = 0; i < 5; i++) queue.push(i)
    expect(queue.size).toBe(5)
    const got = [] as number[]
    for (let i = 0; i < 5; i++) got.push(await queue.receive())
    expect(got).toEqual([0, 1, 2, 3, 4])
    expect(queue.size).toBe(0)
  })

  it('resolves a waiting receive directly', async () => {
    const queue = new ReceiveQueue<string>()
    const pending = queue.receive()
    queue.push('a')
    await expect(pending).resolves.toBe('a')
  })

  it('keeps order across many interleaved pushes and receives', async () => {
    const queue = new ReceiveQueue<number>()
    const got: number[] = []
    for (let i = 0; i < 3000; i++) {
      queue.push(i)
      if (i % 3 === 0) got.push(await queue.receive())
    }
    while (queue.size > 0) got.push(await queue.receive())
    expect(got).toEqual(Array.from({ length: 3000 }, (_, i) => i))
  })

  it('cancel rejects the pending and every later receive with CancelledError', async () => {
    const queue = new ReceiveQueue<number>()
    const pending = queue.receive()
    queue.cancel()
    await expect(pending).rejects.toBeInstanceOf(CancelledError)
    await expect(queue.receive()).rejects.toBeInstanceOf(CancelledError)
    queue.push(1)
    expect(queue.size).toBe(0)
  })

  it('refuses a second concurrent receive', async () => {
    const queue = new ReceiveQueue<number>()
    const first = queue.receive()
    await expect(queue.receive()).rejects.toThrow(/before the previous receive/)
    queue.push(7)
    await expect(first).resolves.toBe(7)
  })
})
