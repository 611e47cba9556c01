import { afterEach, describe, expect, it, vi } from 'vitest'
import { CancelledError } from '../../../src/framework/asgi/errors.js'
import { setLogHandler, type LogRecord } from '../../../src/framework/asgi/logging.js'
import type { ChannelMessage } from '../../../src/framework/asgi/types.js'
import { cloneMessage, isFlatMessage } from '../../../src/framework/layers/clone.js'
import { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import type { LayerReceiver } from '../../../src/framework/layers/types.js'

/** A receiver that records what it gets and can re-arm itself. */
class Recorder implements LayerReceiver {
  readonly messages: ChannelMessage[] = []
  readonly errors: unknown[] = []
  constructor(
    readonly layer?: InMemoryChannelLayer,
    readonly channel?: string,
    readonly rearm = false,
  ) {}
  layerMessage(message: ChannelMessage): void {
    this.messages.push(message)
    if (this.rearm) this.layer!.receiveInto(this.channel!, this)
  }
  layerError(error: unknown): void {
    this.errors.push(error)
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

afterEach(() => {
  vi.useRealTimers()
})

describe('InMemoryChannelLayer.receiveInto', () => {
  it('hands a sent message over later, never inside send', async () => {
    const layer = new InMemoryChannelLayer()
    const recorder = new Recorder()
    layer.receiveInto('c', recorder)
    expect(layer.channels.get('c')?.waiting).toBe(1)
    const sent = layer.send('c', { type: 'hello' })
    expect(recorder.messages).toEqual([])
    await sent
    await tick()
    expect(recorder.messages).toEqual([{ type: 'hello' }])
  })

  it('takes an already queued message, asynchronously, and one per arm', async () => {
    const layer = new InMemoryChannelLayer()
    await layer.send('c', { type: 'm', n: 1 })
    await layer.send('c', { type: 'm', n: 2 })
    const recorder = new Recorder()
    layer.receiveInto('c', recorder)
    expect(recorder.messages).toEqual([])
    await tick()
    expect(recorder.messages.map((m) => m.n)).toEqual([1])
    expect(layer.channels.get('c')?.size).toBe(1)
    layer.receiveInto('c', recorder)
    await tick()
    expect(recorder.messages.map((m) => m.n)).toEqual([1, 2])
  })

  it('keeps FIFO order for a receiver that re-arms from its callback', async () => {
    const layer = new InMemoryChannelLayer({ capacity: 50 })
    const recorder = new Recorder(layer, 'c', true)
    layer.receiveInto('c', recorder)
    for (let i = 0; i < 20; i++) await layer.send('c', { type: 'm', i })
    await tick()
    expect(recorder.messages.map((m) => m.i)).toEqual([...Array(20).keys()])
  })

  it('keeps the channel entry between deliveries and drops it on cancel', async () => {
    const layer = new InMemoryChannelLayer()
    const recorder = new Recorder()
    layer.receiveInto('c', recorder)
    await layer.send('c', { type: 'x' })
    await tick()
    expect(layer.channels.has('c')).toBe(true)
    layer.cancelReceive('c', recorder)
    expect(layer.channels.has('c')).toBe(false)
  })

  it('a cancelled waiting receiver gets nothing and the message stays queued', async () => {
    const layer = new InMemoryChannelLayer()
    const recorder = new Recorder()
    layer.receiveInto('c', recorder)
    layer.cancelReceive('c', recorder)
    expect(layer.channels.size).toBe(0)
    await layer.send('c', { type: 'kept' })
    await tick()
    expect(recorder.messages).toEqual([])
    expect((await layer.receive('c')).type).toBe('kept')
  })

  it('cancelling after the hand-off was scheduled puts the message back at the head', async () => {
    const layer = new InMemoryChannelLayer()
    const recorder = new Recorder()
    layer.receiveInto('c', recorder)
    const first = layer.send('c', { type: 'first' })
    // The hand-off of 'first' is scheduled (microtask) but has not run yet when we cancel.
    layer.cancelReceive('c', recorder)
    await first
    await layer.send('c', { type: 'second' })
    await tick()
    expect(recorder.messages).toEqual([])
    expect((await layer.receive('c')).type).toBe('first')
    expect((await layer.receive('c')).type).toBe('second')
  })

  it('cancelling a receiver during a batch puts back only its own message', async () => {
    const layer = new InMemoryChannelLayer()
    const second = new Recorder()
    const first: LayerReceiver = {
      layerMessage: () => layer.cancelReceive('b', second),
      layerError: () => {},
    }
    layer.receiveInto('a', first)
    layer.receiveInto('b', second)
    await layer.groupAdd('g', 'a')
    await layer.groupAdd('g', 'b')
    await layer.groupSend('g', { type: 'to.all' })
    await tick()
    expect(second.messages).toEqual([])
    expect((await layer.receive('b')).type).toBe('to.all')
  })

  it('groupSend gives every member its own copy', async () => {
    const layer = new InMemoryChannelLayer()
    const recorders = [new Recorder(), new Recorder(), new Recorder()]
    for (const [i, recorder] of recorders.entries()) {
      layer.receiveInto(`c${i}`, recorder)
      await layer.groupAdd('g', `c${i}`)
    }
    const flat = { type: 'chat.message', message: 'hi', user: null }
    await layer.groupSend('g', flat)
    await tick()
    const got = recorders.map((r) => r.messages[0]!)
    got[0]!.message = 'changed'
    expect(got[1]).toEqual(flat)
    expect(got[2]).toEqual(flat)
    expect(new Set([...got, flat]).size).toBe(4)
  })

  it('groupSend deep-copies nested messages per member', async () => {
    const layer = new InMemoryChannelLayer()
    const a = new Recorder()
    const b = new Recorder()
    layer.receiveInto('a', a)
    layer.receiveInto('b', b)
    await layer.groupAdd('g', 'a')
    await layer.groupAdd('g', 'b')
    const nested = { type: 'x', data: { list: [1, 2] } }
    await layer.groupSend('g', nested)
    await tick()
    ;(a.messages[0]!.data as { list: number[] }).list.push(3)
    expect(b.messages[0]).toEqual({ type: 'x', data: { list: [1, 2] } })
    expect(nested.data.list).toEqual([1, 2])
  })

  it('hands a whole group send over in one batch, in membership order', async () => {
    const layer = new InMemoryChannelLayer()
    const order: string[] = []
    for (const name of ['a', 'b', 'c']) {
      layer.receiveInto(name, { layerMessage: () => order.push(name), layerError: () => {} })
      await layer.groupAdd('g', name)
    }
    const sending = layer.groupSend('g', { type: 'x' })
    expect(order).toEqual([])
    await sending
    await tick()
    expect(order).toEqual(['a', 'b', 'c'])
  })

  it('a receiver that throws is logged and the others still get their messages', async () => {
    const records: LogRecord[] = []
    const previous = setLogHandler((record) => records.push(record))
    try {
      const layer = new InMemoryChannelLayer()
      const boom = new Error('receiver bug')
      layer.receiveInto('bad', {
        layerMessage: () => {
          throw boom
        },
        layerError: () => {},
      })
      const good = new Recorder()
      layer.receiveInto('good', good)
      await layer.groupAdd('g', 'bad')
      await layer.groupAdd('g', 'good')
      await layer.groupSend('g', { type: 'x' })
      await tick()
      expect(good.messages).toEqual([{ type: 'x' }])
      expect(records).toMatchObject([{ level: 'error', logger: 'channels.layers', error: boom }])
    } finally {
      setLogHandler(previous)
    }
  })

  it('close tells waiting receivers with CancelledError', async () => {
    const layer = new InMemoryChannelLayer()
    const recorder = new Recorder()
    layer.receiveInto('c', recorder)
    await layer.close()
    expect(recorder.errors).toHaveLength(1)
    expect(recorder.errors[0]).toBeInstanceOf(CancelledError)
    expect(layer.channels.size).toBe(0)
  })

  it('rejects an invalid channel name synchronously', () => {
    const layer = new InMemoryChannelLayer()
    expect(() => layer.receiveInto('bad name', new Recorder())).toThrow(TypeError)
    expect(layer.channels.size).toBe(0)
  })

  it('drops expired messages before handing one over', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
    const layer = new InMemoryChannelLayer({ expiry: 1 })
    await layer.send('c', { type: 'old' })
    vi.advanceTimersByTime(1_001)
    await layer.send('c', { type: 'new' })
    const recorder = new Recorder()
    layer.receiveInto('c', recorder)
    await tick()
    expect(recorder.messages).toEqual([{ type: 'new' }])
  })

  it('waits when the only queued messages have expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
    const layer = new InMemoryChannelLayer({ expiry: 1 })
    await layer.send('c', { type: 'old' })
    vi.advanceTimersByTime(1_001)
    const recorder = new Recorder()
    layer.receiveInto('c', recorder)
    expect(layer.channels.get('c')?.waiting).toBe(1)
    await layer.send('c', { type: 'new' })
    await tick()
    expect(recorder.messages).toEqual([{ type: 'new' }])
  })

  it('promise receives and callback receivers share a channel in FIFO order', async () => {
    const layer = new InMemoryChannelLayer()
    const promised = layer.receive('c')
    const recorder = new Recorder()
    layer.receiveInto('c', recorder)
    await layer.send('c', { type: 'one' })
    await layer.send('c', { type: 'two' })
    expect((await promised).type).toBe('one')
    await tick()
    expect(recorder.messages).toEqual([{ type: 'two' }])
  })
})

describe('InMemoryChannelLayer.newChannel', () => {
  it('refuses a prefix too long for a valid name with the usual TypeError', async () => {
    const layer = new InMemoryChannelLayer()
    await expect(layer.newChannel('p'.repeat(90))).rejects.toThrow(TypeError)
    await expect(layer.newChannel('p'.repeat(200_000))).rejects.toThrow(TypeError)
    expect(await layer.newChannel('p'.repeat(70))).toMatch(/^p{70}\.inmemory![a-zA-Z]{12}$/)
  })
})

describe('isFlatMessage / cloneMessage', () => {
  it('is true only for plain objects of primitives', () => {
    expect(isFlatMessage({ type: 'x', n: 1, s: 's', b: true, z: null, u: undefined })).toBe(true)
    expect(isFlatMessage({ type: 'x', nested: {} })).toBe(false)
    expect(isFlatMessage({ type: 'x', list: [] })).toBe(false)
    expect(isFlatMessage({ type: 'x', fn: () => 1 })).toBe(false)
    expect(isFlatMessage({ type: 'x', [Symbol('s')]: 1 })).toBe(false)
    expect(
      isFlatMessage(
        new (class Message {
          type = 'x'
        })(),
      ),
    ).toBe(false)
    expect(isFlatMessage(null)).toBe(false)
    expect(isFlatMessage('x')).toBe(false)
  })

  it('copies a flat message into a new equal object', () => {
    const message = { type: 'x', n: 1 }
    const copy = cloneMessage(message)
    expect(copy).toEqual(message)
    expect(copy).not.toBe(message)
  })

  it('keeps an own __proto__ key of a flat message as data', () => {
    const message = JSON.parse('{"type":"x","__proto__":"p"}') as Record<string, unknown>
    const copy = cloneMessage(message)
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect(Object.hasOwn(copy, '__proto__')).toBe(true)
    expect(copy.__proto__).toBe('p')
  })

  it('copies a null-prototype message into an ordinary object, as the deep copy always did', () => {
    const message = Object.assign(Object.create(null) as Record<string, unknown>, { type: 'x' })
    expect(isFlatMessage(message)).toBe(true)
    const copy = cloneMessage(message)
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect(copy).toEqual({ type: 'x' })
  })
})

describe('InMemoryChannelLayer.newChannelNow', () => {
  it('returns a valid name with the prefix, distinct each time', () => {
    const layer = new InMemoryChannelLayer()
    const a = layer.newChannelNow()
    const b = layer.newChannelNow('mine.')
    expect(a).toMatch(/^specific\.\.inmemory![a-zA-Z]{12}$/)
    expect(b).toMatch(/^mine\.\.inmemory![a-zA-Z]{12}$/)
    expect(layer.newChannelNow()).not.toBe(a)
  })

  it('throws where newChannel would reject (invalid prefix)', async () => {
    const layer = new InMemoryChannelLayer()
    const prefix = 'bad prefix '
    expect(() => layer.newChannelNow(prefix)).toThrow(TypeError)
    await expect(layer.newChannel(prefix)).rejects.toThrow(TypeError)
  })

  it('is what newChannel resolves to, so a subclass names channels by overriding it', async () => {
    class Custom extends InMemoryChannelLayer {
      override newChannelNow(prefix = 'custom.'): string {
        return `${prefix}!name`
      }
    }
    const layer = new Custom()
    expect(layer.newChannelNow()).toBe('custom.!name')
    await expect(layer.newChannel('mine.')).resolves.toBe('mine.!name')
  })
})
