/**
 * Sends that return once queued (WriteBehind) and the core layer's batched pop of a process key:
 * what they must keep from the plain await-every-reply path — the order of a channel's messages,
 * nothing lost on close, a down host still failing the send itself — against a real redis-server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { setLogHandler, type LogRecord } from '../../../../src/framework/asgi/logging.js'
import type { ChannelLayer } from '../../../../src/framework/layers/types.js'
import { RedisConnectionError } from '../../../../src/framework/layers/redis/connection.js'
import { RedisChannelLayer } from '../../../../src/framework/layers/redis/core.js'
import { RedisPubSubChannelLayer } from '../../../../src/framework/layers/redis/pubsub.js'
import { WriteBehind } from '../../../../src/framework/layers/redis/write-behind.js'
import { freePort } from '../../../helpers/free-port.js'
import { startRedis, type RedisServer } from '../../../helpers/redis-server.js'

let redis: RedisServer
const layers: ChannelLayer[] = []

beforeAll(async () => {
  redis = await startRedis()
})

afterEach(async () => {
  await Promise.all(layers.splice(0).map((layer) => layer.close()))
})

afterAll(async () => {
  await redis.stop()
})

function track<T extends ChannelLayer>(layer: T): T {
  layers.push(layer)
  return layer
}

const makers: [string, (prefix: string) => ChannelLayer][] = [
  [
    'RedisChannelLayer',
    (prefix) => new RedisChannelLayer({ hosts: [redis.url], prefix, capacity: 1000 }),
  ],
  [
    'RedisPubSubChannelLayer',
    (prefix) => new RedisPubSubChannelLayer({ hosts: [redis.url], prefix }),
  ],
]

describe.each(makers)('%s', (name, make) => {
  it('keeps call order across group sends and direct sends to a member', async () => {
    const layer = track(make(`wb-order-${name}`))
    const channel = await layer.newChannel()
    await layer.groupAdd('room', channel)
    await layer.send(channel, { type: 'warm' })
    expect(await layer.receive(channel)).toEqual({ type: 'warm' })
    const count = 300
    const seen: number[] = []
    const receiving = (async () => {
      for (let i = 0; i < count; i++) seen.push((await layer.receive(channel)).i as number)
    })()
    for (let i = 0; i < count; i++) {
      // Each returns once queued, and the next follows at once.
      if (i % 3 === 2) await layer.send(channel, { type: 'direct', i })
      else await layer.groupSend('room', { type: 'group', i })
    }
    await receiving
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i))
  })

  it('close() waits for the sends still in flight', async () => {
    const prefix = `wb-close-${name}`
    const receiver = track(make(prefix))
    const channel = await receiver.newChannel()
    await receiver.groupAdd('room', channel)
    const sender = make(prefix)
    for (let i = 0; i < 50; i++) await sender.groupSend('room', { type: 'm', i })
    await sender.close()
    const seen: number[] = []
    for (let i = 0; i < 50; i++) seen.push((await receiver.receive(channel)).i as number)
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('a host that is down fails the send itself, not a log line', async () => {
    const port = await freePort()
    const Layer = name === 'RedisChannelLayer' ? RedisChannelLayer : RedisPubSubChannelLayer
    const layer = track(new Layer({ hosts: [`redis://127.0.0.1:${port}`] }))
    await expect(layer.groupSend('room', { type: 'm' })).rejects.toThrow(RedisConnectionError)
    await expect(layer.groupSend('room', { type: 'm' })).rejects.toThrow(
      `Cannot reach Redis at redis://127.0.0.1:${port}`,
    )
  })
})

describe('RedisChannelLayer process key', () => {
  it('gets more messages than one pop takes, in order, and keeps no backup after', async () => {
    const prefix = 'wb-batch'
    const layer = track(new RedisChannelLayer({ hosts: [redis.url], prefix, capacity: 1000 }))
    const channel = await layer.newChannel()
    const count = 250
    for (let i = 0; i < count; i++) await layer.send(channel, { type: 'm', i })
    const key = `${prefix}${channel.slice(0, channel.indexOf('!') + 1)}`
    expect(Number(await redis.cli('ZCARD', key))).toBe(count)
    const seen: number[] = []
    for (let i = 0; i < count; i++) seen.push((await layer.receive(channel)).i as number)
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i))
    await layer.close()
    expect(Number(await redis.cli('EXISTS', key, `${key}$inflight`))).toBe(0)
  })

  it('puts back what a dead process left in its backup before popping', async () => {
    const prefix = 'wb-backup'
    const layer = track(new RedisChannelLayer({ hosts: [redis.url], prefix }))
    const channel = await layer.newChannel()
    const key = `${prefix}${channel.slice(0, channel.indexOf('!') + 1)}`
    await layer.send(channel, { type: 'm', i: 0 })
    await layer.send(channel, { type: 'm', i: 1 })
    // As if a receive had popped message 0 into the backup and its process had died then.
    await redis.cli(
      'EVAL',
      "local m = redis.call('ZPOPMIN', KEYS[1]) redis.call('ZADD', KEYS[2], m[2], m[1])",
      '2',
      key,
      `${key}$inflight`,
    )
    expect(Number(await redis.cli('ZCARD', key))).toBe(1)
    expect(Number(await redis.cli('ZCARD', `${key}$inflight`))).toBe(1)
    const first = await layer.receive(channel)
    const second = await layer.receive(channel)
    expect([first.i, second.i]).toEqual([0, 1])
  })
})

describe('WriteBehind', () => {
  it('logs a send that fails after it was queued, and drain() waits for every send', async () => {
    const records: LogRecord[] = []
    const previous = setLogHandler((record) => records.push(record))
    try {
      const sends = new WriteBehind(2)
      const lane = {}
      let fail!: (error: Error) => void
      let finish!: () => void
      sends.track(lane, new Promise<void>((_, reject) => (fail = reject)), 'Publishing to x')
      expect(sends.accepts(lane)).toBe(true)
      sends.track(lane, new Promise<void>((resolve) => (finish = resolve)), 'Publishing to y')
      // At the limit, and another lane may not overtake what is in flight.
      expect(sends.accepts(lane)).toBe(false)
      let drained = false
      const draining = sends.drain().then(() => (drained = true))
      fail(new Error('connection lost'))
      await new Promise((resolve) => setImmediate(resolve))
      expect(drained).toBe(false)
      expect(sends.accepts({})).toBe(false)
      finish()
      await draining
      expect(sends.size).toBe(0)
      expect(sends.accepts({})).toBe(true)
      expect(records).toMatchObject([
        {
          level: 'error',
          logger: 'channels.layers.redis',
          message: 'Publishing to x failed after it was queued: connection lost',
        },
      ])
    } finally {
      setLogHandler(previous)
    }
  })
})
