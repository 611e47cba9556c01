import { describe, expect, it } from 'vitest'
import { CancelledError } from '../../src/framework/asgi/errors.js'
import {
  RECEIVE_SOURCE,
  receiveSourceOf,
  setFastPaths,
} from '../../src/framework/asgi/fast-path.js'
import { ReceiveQueue } from '../../src/server/receive-queue.js'
import { recordLogs } from '../helpers/with-server.js'

describe('ReceiveQueue', () => {
  it('hands queued events over in order', async () => {
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

describe('ReceiveQueue as a ReceiveSource (the consumer loop fast path)', () => {
  /** A sink that re-arms after each event, like the consumer loop, and records what it got. */
  function recorder(queue: ReceiveQueue<number>, rearm = true) {
    const got: (number | string)[] = []
    let inCall = false
    const sink = {
      receiveEvent(event: number) {
        if (inCall) throw new Error('handed over synchronously')
        got.push(event)
        if (rearm) arm()
      },
      receiveError(error: unknown) {
        got.push(error instanceof CancelledError ? 'cancelled' : String(error))
      },
    }
    const arm = () => {
      inCall = true
      try {
        queue.receiveInto(sink)
      } finally {
        inCall = false
      }
    }
    return { got, sink, arm }
  }
  const tick = () => new Promise((r) => setImmediate(r))

  it('is the ReceiveSource its receive carries', () => {
    const queue = new ReceiveQueue<number>()
    expect(queue.receive[RECEIVE_SOURCE as never]).toBe(queue)
    expect(receiveSourceOf(queue.receive)).toBe(queue)
  })

  it('is hidden by a wrapped receive, and while the fast paths are off', () => {
    const queue = new ReceiveQueue<number>()
    expect(receiveSourceOf(() => queue.receive())).toBeNull()
    const previous = setFastPaths(false)
    try {
      expect(receiveSourceOf(queue.receive)).toBeNull()
    } finally {
      setFastPaths(previous)
    }
  })

  it('hands over asynchronously, never inside receiveInto or push, and in order', async () => {
    const queue = new ReceiveQueue<number>()
    queue.push(0)
    const { got, arm } = recorder(queue)
    arm()
    expect(got).toEqual([])
    let pushing = true
    for (let i = 1; i < 2000; i++) queue.push(i)
    pushing = false
    expect(pushing).toBe(false)
    expect(got).toEqual([])
    await tick()
    expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => i))
    expect(queue.size).toBe(0)
  })

  it('hands one event per arming; the rest stay queued', async () => {
    const queue = new ReceiveQueue<number>()
    const { got, arm } = recorder(queue, false)
    arm()
    queue.push(1)
    queue.push(2)
    await tick()
    expect(got).toEqual([1])
    expect(queue.size).toBe(1)
    arm()
    await tick()
    expect(got).toEqual([1, 2])
    // Plain receive() still works once no sink waits.
    queue.push(3)
    await expect(queue.receive()).resolves.toBe(3)
  })

  it('batches the deliveries of many queues into one microtask', async () => {
    const queues = Array.from({ length: 50 }, () => new ReceiveQueue<number>())
    const recorders = queues.map((q) => recorder(q))
    for (const r of recorders) r.arm()
    queues.forEach((q, i) => q.push(i))
    await Promise.resolve()
    await Promise.resolve()
    expect(recorders.map((r) => r.got[0])).toEqual(queues.map((_, i) => i))
  })

  it('cancel gives the waiting sink CancelledError, and a later arming too', async () => {
    const queue = new ReceiveQueue<number>()
    const { got, arm } = recorder(queue)
    arm()
    queue.push(1)
    queue.cancel()
    await tick()
    expect(got).toEqual(['cancelled'])
    arm()
    await tick()
    expect(got).toEqual(['cancelled', 'cancelled'])
  })

  it('refuses a second reader, either way round', async () => {
    const queue = new ReceiveQueue<number>()
    const { arm } = recorder(queue)
    arm()
    expect(arm).toThrow(/receive\(\) called again/)
    await expect(queue.receive()).rejects.toThrow(/receive\(\) called again/)
    const other = new ReceiveQueue<number>()
    const waiting = other.receive()
    expect(recorder(other).arm).toThrow(/receive\(\) called again/)
    other.push(5)
    await expect(waiting).resolves.toBe(5)
  })

  it('a sink that throws does not keep other queues from their events', async () => {
    const bad = new ReceiveQueue<number>()
    const good = new ReceiveQueue<number>()
    const logs = recordLogs()
    try {
      bad.receiveInto({
        receiveEvent() {
          throw new Error('bad sink')
        },
        receiveError() {},
      })
      const { got, arm } = recorder(good)
      arm()
      bad.push(1)
      good.push(2)
      await tick()
      expect(got).toEqual([2])
      expect(logs.records.map((r) => [r.level, r.message])).toEqual([
        ['error', 'A receive sink threw: bad sink'],
      ])
    } finally {
      logs.restore()
    }
  })
})

describe('ReceiveQueue completion claims (a consumer reporting its own end)', () => {
  function owner() {
    const ended: unknown[] = []
    return { ended, appCompleted: (error: unknown) => ended.push(error) }
  }
  const tick = () => new Promise((r) => setImmediate(r))

  it('adopts the claimed promise when the app returns it, and reports the end later', async () => {
    const queue = new ReceiveQueue<number>()
    const o = owner()
    queue.openClaims(o)
    const promise = new Promise<void>(() => {})
    queue.claimCompletion(promise)
    expect(queue.adopt(promise)).toBe(true)
    queue.complete(false, undefined)
    expect(o.ended).toEqual([])
    await tick()
    expect(o.ended).toEqual([null])
    queue.complete(false, undefined)
    await tick()
    expect(o.ended).toEqual([null])
  })

  it('reports a failure, and the claimed promise rejecting is not an unhandled rejection', async () => {
    const queue = new ReceiveQueue<number>()
    const o = owner()
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      queue.openClaims(o)
      let reject!: (error: unknown) => void
      const promise = new Promise<void>((_, r) => (reject = r))
      queue.claimCompletion(promise)
      expect(queue.adopt(promise)).toBe(true)
      const boom = new Error('boom')
      queue.complete(true, boom)
      reject(boom)
      await tick()
      await tick()
      expect(o.ended).toEqual([boom])
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('does not adopt a wrapped promise, nor an app that ended during the call', async () => {
    const queue = new ReceiveQueue<number>()
    const o = owner()
    queue.openClaims(o)
    const inner = new Promise<void>(() => {})
    queue.claimCompletion(inner)
    expect(queue.adopt(inner.then(() => {}))).toBe(false)
    queue.complete(false, undefined)
    await tick()
    expect(o.ended).toEqual([])

    const early = new ReceiveQueue<number>()
    early.openClaims(o)
    const done = Promise.resolve()
    early.claimCompletion(done)
    early.complete(false, undefined)
    expect(early.adopt(done)).toBe(false)
    await tick()
    expect(o.ended).toEqual([])
  })
})
