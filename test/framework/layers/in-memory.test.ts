import { afterEach, describe, expect, it, vi } from 'vitest'
import { CancelledError, ChannelFull, ValueError } from '../../../src/framework/asgi/errors.js'
import type { ChannelMessage } from '../../../src/framework/asgi/types.js'
import { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import type { InMemoryChannelLayerOptions } from '../../../src/framework/layers/in-memory.js'
import { isPending, runLayerContract } from './contract.js'

runLayerContract('InMemoryChannelLayer', (options) => new InMemoryChannelLayer(options))

afterEach(() => {
  vi.useRealTimers()
})

describe('InMemoryChannelLayer (tests/test_inmemorychannel.py)', () => {
  it('test_send_receive: the channel entry lives while non-empty and goes when drained', async () => {
    const layer = new InMemoryChannelLayer({ capacity: 3 })
    await layer.send('test-channel-1', { type: 'test.message', text: 'Ahoy-hoy!' })
    await layer.send('test-channel-1', { type: 'test.message', text: 'Second' })
    expect(layer.channels.get('test-channel-1')?.size).toBe(2)
    expect((await layer.receive('test-channel-1')).text).toBe('Ahoy-hoy!')
    expect(layer.channels.has('test-channel-1')).toBe(true)
    expect((await layer.receive('test-channel-1')).text).toBe('Second')
    expect(layer.channels.size).toBe(0)
  })

  it('test_race_empty: a pending receive survives its channel entry being deleted', async () => {
    const layer = new InMemoryChannelLayer({ capacity: 3 })
    const receiving = layer.receive('test-channel-1')
    expect(await isPending(receiving)).toBe(true)
    await layer.send('test-channel-1', { type: 'test.message' })
    ;(layer.channels as Map<string, unknown>).delete('test-channel-1')
    expect((await receiving).type).toBe('test.message')
  })

  it('a direct hand-off to a waiter leaves no channel entry behind', async () => {
    const layer = new InMemoryChannelLayer()
    const receiving = layer.receive('handoff')
    expect(layer.channels.get('handoff')?.waiting).toBe(1)
    await layer.send('handoff', { type: 'x' })
    await receiving
    expect(layer.channels.size).toBe(0)
  })

  it('an aborted receive removes its empty channel entry', async () => {
    const layer = new InMemoryChannelLayer()
    const controller = new AbortController()
    const receiving = layer.receive('aborted', { signal: controller.signal })
    expect(layer.channels.size).toBe(1)
    controller.abort()
    await expect(receiving).rejects.toMatchObject({ name: 'AbortError' })
    expect(layer.channels.size).toBe(0)
  })

  it("newChannel keeps Channels' double dot and 12 random letters", async () => {
    const layer = new InMemoryChannelLayer()
    expect(await layer.newChannel()).toMatch(/^specific\.\.inmemory![a-zA-Z]{12}$/)
    expect(await layer.newChannel('chat.')).toMatch(/^chat\.\.inmemory![a-zA-Z]{12}$/)
    await expect(layer.newChannel('bad prefix')).rejects.toThrow(/^Channel name must be/)
  })

  it('keeps FIFO order across queue compaction', async () => {
    const layer = new InMemoryChannelLayer({ capacity: Infinity })
    for (let i = 0; i < 5000; i++) await layer.send('long', { type: 'n', i })
    for (let i = 0; i < 3000; i++) expect((await layer.receive('long')).i).toBe(i)
    for (let i = 5000; i < 6000; i++) await layer.send('long', { type: 'n', i })
    for (let i = 3000; i < 6000; i++) expect((await layer.receive('long')).i).toBe(i)
    expect(layer.channels.size).toBe(0)
  })

  it('fans out to 1000 waiting members, each once', async () => {
    const layer = new InMemoryChannelLayer()
    const names = Array.from({ length: 1000 }, (_, i) => `member-${i}`)
    for (const name of names) await layer.groupAdd('big', name)
    const received = names.map((name) => layer.receive(name))
    await layer.groupSend('big', { type: 'fan.out' })
    const messages = await Promise.all(received)
    expect(messages.every((m) => m.type === 'fan.out')).toBe(true)
    expect(new Set(messages).size).toBe(1000)
    expect(layer.channels.size).toBe(0)
    expect(layer.groups.get('big')?.size).toBe(1000)
  })

  it('groupDiscard of the last member deletes the group', async () => {
    const layer = new InMemoryChannelLayer()
    await layer.groupAdd('g', 'c1')
    await layer.groupAdd('g', 'c2')
    await layer.groupDiscard('g', 'c1')
    expect([...(layer.groups.get('g')?.keys() ?? [])]).toEqual(['c2'])
    await layer.groupDiscard('g', 'c2')
    expect(layer.groups.size).toBe(0)
  })

  it('flush keeps waiting receivers waiting', async () => {
    const layer = new InMemoryChannelLayer()
    const receiving = layer.receive('keep-waiting')
    await layer.flush()
    expect(await isPending(receiving)).toBe(true)
    await layer.send('keep-waiting', { type: 'after.flush' })
    expect((await receiving).type).toBe('after.flush')
  })

  it('close rejects waiting receivers with CancelledError and stays usable', async () => {
    const layer = new InMemoryChannelLayer()
    await layer.groupAdd('g', 'c')
    const receiving = layer.receive('closing')
    await layer.close()
    await expect(receiving).rejects.toBeInstanceOf(CancelledError)
    expect(layer.channels.size).toBe(0)
    expect(layer.groups.size).toBe(0)
    await layer.send('closing', { type: 'again' })
    expect((await layer.receive('closing')).type).toBe('again')
  })
})

describe('InMemoryChannelLayer expiry (fake clock)', () => {
  function fakeClock() {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
  }

  it('test_expiry_single: an expired message is never delivered; the channel is cleaned', async () => {
    fakeClock()
    const layer = new InMemoryChannelLayer({ expiry: 0.1 })
    await layer.send('test-channel-1', { type: 'message.1' })
    expect(layer.channels.size).toBe(1)
    vi.advanceTimersByTime(101)
    const controller = new AbortController()
    const receiving = layer.receive('test-channel-1', { signal: controller.signal })
    expect(await isPending(receiving)).toBe(true)
    controller.abort()
    await expect(receiving).rejects.toThrow()
    expect(layer.channels.size).toBe(0)
  })

  it("test_expiry_unread: an unread channel is cleaned by another channel's receive", async () => {
    fakeClock()
    const layer = new InMemoryChannelLayer({ expiry: 0.1 })
    await layer.send('test-channel-1', { type: 'message.1' })
    vi.advanceTimersByTime(101)
    await layer.send('test-channel-2', { type: 'message.2' })
    expect(layer.channels.size).toBe(2)
    expect((await layer.receive('test-channel-2')).type).toBe('message.2')
    expect(layer.channels.size).toBe(0)
  })

  it('test_expiry_multi: only the expired messages are dropped', async () => {
    fakeClock()
    const layer = new InMemoryChannelLayer({ expiry: 0.1 })
    await layer.send('test-channel-1', { type: 'message.1' })
    await layer.send('test-channel-1', { type: 'message.2' })
    await layer.send('test-channel-1', { type: 'message.3' })
    expect((await layer.receive('test-channel-1')).type).toBe('message.1')
    vi.advanceTimersByTime(101)
    await layer.send('test-channel-1', { type: 'message.4' })
    expect((await layer.receive('test-channel-1')).type).toBe('message.4')
    const controller = new AbortController()
    const receiving = layer.receive('test-channel-1', { signal: controller.signal })
    expect(await isPending(receiving)).toBe(true)
    controller.abort()
    await expect(receiving).rejects.toThrow()
    expect(layer.channels.size).toBe(0)
  })

  it('a message not yet past expiry is delivered', async () => {
    fakeClock()
    const layer = new InMemoryChannelLayer({ expiry: 60 })
    await layer.send('c', { type: 'fresh' })
    vi.advanceTimersByTime(59_000)
    expect((await layer.receive('c')).type).toBe('fresh')
  })

  it('an expired message removes its channel from every group', async () => {
    fakeClock()
    const layer = new InMemoryChannelLayer({ expiry: 60 })
    await layer.groupAdd('g1', 'stale')
    await layer.groupAdd('g2', 'stale')
    await layer.groupAdd('g2', 'live')
    await layer.send('stale', { type: 'never.read' })
    vi.advanceTimersByTime(61_000)
    await layer.groupSend('g2', { type: 'after' })
    expect(layer.groups.has('g1')).toBe(false)
    expect([...(layer.groups.get('g2')?.keys() ?? [])]).toEqual(['live'])
    expect(layer.channels.has('stale')).toBe(false)
    expect((await layer.receive('live')).type).toBe('after')
  })

  it('group memberships end group_expiry seconds after the last groupAdd', async () => {
    fakeClock()
    const layer = new InMemoryChannelLayer({ group_expiry: 100 })
    await layer.groupAdd('g', 'old')
    await layer.groupAdd('g', 'refreshed')
    vi.advanceTimersByTime(60_000)
    await layer.groupAdd('g', 'refreshed')
    vi.advanceTimersByTime(41_000)
    await layer.groupSend('g', { type: 'ping' })
    expect([...(layer.groups.get('g')?.keys() ?? [])]).toEqual(['refreshed'])
    expect(layer.channels.has('old')).toBe(false)
    vi.advanceTimersByTime(60_000)
    await layer.receive('refreshed')
    expect(layer.groups.size).toBe(0)
  })

  it('the default group_expiry is a day', async () => {
    fakeClock()
    const layer = new InMemoryChannelLayer()
    expect(layer.groupExpiry).toBe(86400)
    await layer.groupAdd('g', 'c')
    vi.advanceTimersByTime(86_399_000)
    await layer.groupSend('g', { type: 'still.member' })
    expect((await layer.receive('c')).type).toBe('still.member')
    vi.advanceTimersByTime(2_000)
    await layer.groupSend('g', { type: 'gone' })
    expect(layer.groups.size).toBe(0)
    expect(layer.channels.size).toBe(0)
  })
})

describe('InMemoryChannelLayer channel_capacity', () => {
  it('glob patterns set per-channel capacity, first match wins', async () => {
    const layer = new InMemoryChannelLayer({
      capacity: 5,
      channel_capacity: { 'http.request': 1, 'http.*': 2, 'ws.?': 3, '[ab]x': 1, '[!ab]y': 4 },
    })
    expect(layer.getCapacity('http.request')).toBe(1)
    expect(layer.getCapacity('http.response.x')).toBe(2)
    expect(layer.getCapacity('ws.a')).toBe(3)
    expect(layer.getCapacity('ws.ab')).toBe(5)
    expect(layer.getCapacity('ax')).toBe(1)
    expect(layer.getCapacity('cx')).toBe(5)
    expect(layer.getCapacity('cy')).toBe(4)
    expect(layer.getCapacity('ay')).toBe(5)
    expect(layer.getCapacity('xhttp.a')).toBe(5)
    await layer.send('http.request', { type: 'one' })
    await expect(layer.send('http.request', { type: 'two' })).rejects.toBeInstanceOf(ChannelFull)
    await layer.send('http.other', { type: 'one' })
    await layer.send('http.other', { type: 'two' })
    await expect(layer.send('http.other', { type: 'three' })).rejects.toBeInstanceOf(ChannelFull)
  })

  it('a glob dot is literal', () => {
    const layer = new InMemoryChannelLayer({ channelCapacity: { 'a.b': 7 } })
    expect(layer.getCapacity('a.b')).toBe(7)
    expect(layer.getCapacity('aXb')).toBe(100)
  })

  it('RegExp patterns in pairs or a Map; global RegExps match every time', async () => {
    const global = /^ws\./g
    const layer = new InMemoryChannelLayer({
      channelCapacity: [
        [global, 1],
        ['*', 2],
      ],
    })
    for (let i = 0; i < 3; i++) expect(layer.getCapacity('ws.chat')).toBe(1)
    expect(layer.getCapacity('other')).toBe(2)
    await layer.send('ws.chat', { type: 'x' })
    await expect(layer.send('ws.chat', { type: 'x' })).rejects.toBeInstanceOf(ChannelFull)

    const mapped = new InMemoryChannelLayer({
      channel_capacity: new Map<string | RegExp, number>([
        [/!/, 10],
        ['specific.*', 20],
      ]),
    })
    expect(mapped.getCapacity('specific..inmemory!abc')).toBe(10)
    expect(mapped.getCapacity('specific.x')).toBe(20)
  })

  it('groupSend respects per-channel capacity silently', async () => {
    const layer = new InMemoryChannelLayer({ channel_capacity: { 'tiny.*': 1 } })
    await layer.groupAdd('g', 'tiny.one')
    await layer.groupSend('g', { type: 'first' })
    await layer.groupSend('g', { type: 'dropped' })
    expect(layer.channels.get('tiny.one')?.size).toBe(1)
  })
})

describe('InMemoryChannelLayer options', () => {
  it("accepts Channels' CONFIG spelling and camelCase", () => {
    const snake = new InMemoryChannelLayer({ expiry: 5, group_expiry: 10, capacity: 7 })
    expect([snake.expiry, snake.groupExpiry, snake.capacity]).toEqual([5, 10, 7])
    const camel = new InMemoryChannelLayer({ groupExpiry: 11 })
    expect([camel.expiry, camel.groupExpiry, camel.capacity]).toEqual([60, 11, 100])
  })

  const bad: [string, unknown, typeof TypeError | typeof ValueError, RegExp][] = [
    ['an unknown option', { capcity: 3 }, TypeError, /unexpected option 'capcity'/],
    ['a non-object', 'expiry=5', TypeError, /must be an object/],
    ['both spellings', { groupExpiry: 1, group_expiry: 2 }, ValueError, /not both/],
    [
      'a string expiry',
      { expiry: '60' },
      TypeError,
      /expiry must be a number of seconds, got a string/,
    ],
    ['a zero expiry', { expiry: 0 }, ValueError, /expiry must be positive/],
    ['a negative group_expiry', { group_expiry: -1 }, ValueError, /group_expiry must be positive/],
    ['a zero capacity', { capacity: 0 }, ValueError, /positive integer/],
    ['a fractional capacity', { capacity: 1.5 }, ValueError, /positive integer/],
    ['a NaN capacity', { capacity: NaN }, TypeError, /must be a number/],
    [
      'a non-object channel_capacity',
      { channel_capacity: 5 },
      TypeError,
      /channel_capacity must be/,
    ],
    ['a bad pair', { channel_capacity: [['a']] }, TypeError, /pairs/],
    ['a bad pattern', { channel_capacity: [[5, 1]] }, TypeError, /strings or RegExps/],
    ['a bad pattern capacity', { channel_capacity: { a: 'x' } }, TypeError, /must be a number/],
    [
      'an invalid glob range',
      { channel_capacity: { '[z-a]': 1 } },
      ValueError,
      /Invalid channel_capacity pattern/,
    ],
  ]
  for (const [label, options, kind, message] of bad) {
    it(`rejects ${label}`, () => {
      const make = () => new InMemoryChannelLayer(options as InMemoryChannelLayerOptions)
      expect(make).toThrow(kind)
      expect(make).toThrow(message)
    })
  }
})

describe('InMemoryChannelLayer message copies', () => {
  it('keeps Buffers as Buffers, copied', async () => {
    const layer = new InMemoryChannelLayer()
    const bytes = Buffer.from('abc')
    await layer.send('c', { type: 'bytes', bytes, u8: new Uint8Array([1, 2]) })
    bytes[0] = 0x7a
    const received = await layer.receive('c')
    expect(Buffer.isBuffer(received.bytes)).toBe(true)
    expect((received.bytes as Buffer).toString()).toBe('abc')
    expect(received.u8).toEqual(new Uint8Array([1, 2]))
  })

  it('copies an own __proto__ key as data, not as a prototype', async () => {
    const layer = new InMemoryChannelLayer()
    const message = JSON.parse(
      '{"type":"x","data":{"__proto__":{"polluted":true}}}',
    ) as ChannelMessage
    await layer.send('c', message)
    const received = (await layer.receive('c')) as unknown as { data: Record<string, unknown> }
    expect(Object.getPrototypeOf(received.data)).toBe(Object.prototype)
    expect((received.data as { polluted?: boolean }).polluted).toBeUndefined()
    expect(Object.hasOwn(received.data, '__proto__')).toBe(true)
  })

  it('copies Dates, Maps and cyclic data', async () => {
    const layer = new InMemoryChannelLayer()
    const cyclic: Record<string, unknown> = { name: 'loop' }
    cyclic.self = cyclic
    const when = new Date(0)
    await layer.send('c', { type: 'x', when, map: new Map([[1, 2]]), cyclic })
    const received = await layer.receive('c')
    expect(received.when).toEqual(when)
    expect(received.when).not.toBe(when)
    expect(received.map).toEqual(new Map([[1, 2]]))
    const copy = received.cyclic as Record<string, unknown>
    expect(copy.self).toBe(copy)
    expect(copy).not.toBe(cyclic)
  })

  it('rejects values no layer can carry (functions)', async () => {
    const layer = new InMemoryChannelLayer()
    await expect(layer.send('c', { type: 'x', fn: () => 1 })).rejects.toThrow()
    expect(layer.channels.size).toBe(0)
  })
})

describe('InMemoryChannelLayer uncopyable messages', () => {
  it('leave a waiting receiver waiting', async () => {
    const layer = new InMemoryChannelLayer()
    const receiving = layer.receive('c')
    await expect(layer.send('c', { type: 'x', fn: () => 1 })).rejects.toThrow()
    expect(await isPending(receiving)).toBe(true)
    await layer.send('c', { type: 'ok' })
    expect((await receiving).type).toBe('ok')
  })

  it('make groupSend reject before delivering to anyone', async () => {
    const layer = new InMemoryChannelLayer()
    await layer.groupAdd('g', 'a')
    await layer.groupAdd('g', 'b')
    await expect(layer.groupSend('g', { type: 'x', fn: () => 1 })).rejects.toThrow()
    expect(layer.channels.size).toBe(0)
  })
})

describe('InMemoryChannelLayer abort signals', () => {
  it('one signal shared by several pending receives aborts them all', async () => {
    const layer = new InMemoryChannelLayer()
    const controller = new AbortController()
    const { signal } = controller
    const pending = [
      layer.receive('a', { signal }),
      layer.receive('b', { signal }),
      layer.receive('a', { signal }),
    ]
    controller.abort()
    for (const p of pending) await expect(p).rejects.toBe(signal.reason)
    expect(layer.channels.size).toBe(0)
  })

  it('aborting the middle of three waiters keeps the others in order', async () => {
    const layer = new InMemoryChannelLayer()
    const controller = new AbortController()
    const first = layer.receive('c')
    const middle = layer.receive('c', { signal: controller.signal })
    const last = layer.receive('c')
    controller.abort()
    await expect(middle).rejects.toThrow()
    expect(layer.channels.get('c')?.waiting).toBe(2)
    await layer.send('c', { type: 'm.1' })
    await layer.send('c', { type: 'm.2' })
    expect((await first).type).toBe('m.1')
    expect((await last).type).toBe('m.2')
  })

  it('a signal reused across deliveries still aborts a later receive', async () => {
    const layer = new InMemoryChannelLayer()
    const controller = new AbortController()
    const { signal } = controller
    for (let i = 0; i < 3; i++) {
      const p = layer.receive('reuse', { signal })
      await layer.send('reuse', { type: 'n', i })
      expect((await p).i).toBe(i)
    }
    const waiting = layer.receive('reuse', { signal })
    controller.abort()
    await expect(waiting).rejects.toBe(signal.reason)
    await layer.send('reuse', { type: 'kept' })
    expect((await layer.receive('reuse')).type).toBe('kept')
  })

  it('close rejects every waiter, however many share a channel', async () => {
    const layer = new InMemoryChannelLayer()
    const controller = new AbortController()
    const pending = [layer.receive('c'), layer.receive('c', { signal: controller.signal })]
    await layer.close()
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(CancelledError)
    // Aborting afterwards is harmless.
    controller.abort()
    expect(layer.channels.size).toBe(0)
  })
})

describe('InMemoryChannelLayer send on a channel full of expired messages', () => {
  it('drops the expired messages and accepts the send', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
    const layer = new InMemoryChannelLayer({ capacity: 2, expiry: 1 })
    await layer.groupAdd('g', 'c')
    await layer.send('c', { type: 'old.1' })
    await layer.send('c', { type: 'old.2' })
    await expect(layer.send('c', { type: 'refused' })).rejects.toBeInstanceOf(ChannelFull)
    vi.advanceTimersByTime(1_001)
    await layer.send('c', { type: 'new' })
    expect(layer.channels.get('c')?.size).toBe(1)
    expect((await layer.receive('c')).type).toBe('new')
    // Dropping an expired message ends the channel's group memberships (Channels' rule).
    expect(layer.groups.size).toBe(0)
  })
})

describe('InMemoryChannelLayer specifics', () => {
  it('a receive aborted after its message was handed over still resolves with it', async () => {
    const layer = new InMemoryChannelLayer()
    const controller = new AbortController()
    const pending = layer.receive('late-abort', { signal: controller.signal })
    await layer.send('late-abort', { type: 'delivered' })
    controller.abort()
    expect((await pending).type).toBe('delivered')
  })

  it('receives on any process-specific name', async () => {
    const layer = new InMemoryChannelLayer()
    await layer.send('group!abc', { type: 'fine' })
    expect((await layer.receive('group!abc')).type).toBe('fine')
  })
})
