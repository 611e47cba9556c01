/**
 * What the layers report to the dashboard (InspectableLayer): channels against capacity, groups
 * with their sends, refused / dropped / expired counters, on the in-memory layer and on both
 * Redis layers against a real redis-server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ChannelFull } from '../../../src/framework/asgi/errors.js'
import { asInspectable } from '../../../src/framework/asgi/inspection.js'
import { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import { RedisChannelLayer } from '../../../src/framework/layers/redis/core.js'
import { RedisPubSubChannelLayer } from '../../../src/framework/layers/redis/pubsub.js'
import { startRedis, type RedisServer } from '../../helpers/redis-server.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('asInspectable', () => {
  it('accepts an object with inspect and groupMembers, and nothing else', () => {
    const layer = new InMemoryChannelLayer()
    expect(asInspectable(layer)).toBe(layer)
    expect(asInspectable(null)).toBeNull()
    expect(asInspectable('layer')).toBeNull()
    expect(asInspectable({ inspect: () => undefined })).toBeNull()
  })
})

describe('InMemoryChannelLayer.inspect', () => {
  it('lists queues against capacity and groups with members, and counts refusals', async () => {
    const layer = new InMemoryChannelLayer({ capacity: 2 })
    await layer.send('a', { type: 'x' })
    await layer.send('a', { type: 'x' })
    await expect(layer.send('a', { type: 'x' })).rejects.toBeInstanceOf(ChannelFull)
    await layer.groupAdd('room', 'a')
    await layer.groupAdd('room', 'b')
    const report = layer.inspect()
    expect(report).toMatchObject({
      backend: 'InMemoryChannelLayer',
      refused: 1,
      dropped: 0,
      expired: 0,
      channels: [{ name: 'a', queued: 2, capacity: 2 }],
      groups: [{ name: 'room', members: 2, sends: 0 }],
    })
    expect(layer.groupMembers('room')).toEqual(['a', 'b'])
    expect(layer.groupMembers('nobody')).toBeNull()
  })

  it('counts group sends once inspected, and members skipped because they are full', async () => {
    const layer = new InMemoryChannelLayer({ capacity: 1 })
    await layer.groupAdd('room', 'a')
    await layer.groupSend('room', { type: 'x' }) // before the first inspect: not counted
    layer.inspect()
    await layer.groupSend('room', { type: 'x' }) // 'a' is full: dropped
    await layer.groupSend('nobody', { type: 'x' }) // no such group: nothing to count
    const report = layer.inspect()
    expect(report.groups).toEqual([{ name: 'room', members: 1, sends: 1 }])
    expect(report.dropped).toBe(1)
  })

  it('forgets the send count of a group that emptied', async () => {
    const layer = new InMemoryChannelLayer()
    layer.inspect()
    await layer.groupAdd('room', 'a')
    await layer.groupSend('room', { type: 'x' })
    await layer.groupDiscard('room', 'a')
    expect(layer.inspect().groups).toEqual([])
    await layer.groupAdd('room', 'a')
    expect(layer.inspect().groups).toEqual([{ name: 'room', members: 1, sends: 0 }])
  })

  it('counts messages that expired unread', async () => {
    vi.useFakeTimers()
    const layer = new InMemoryChannelLayer({ expiry: 1 })
    await layer.send('a', { type: 'x' })
    await layer.send('a', { type: 'x' })
    vi.advanceTimersByTime(2000)
    await layer.send('b', { type: 'x' })
    await layer.groupSend('g', { type: 'x' }) // cleans what is due
    expect(layer.inspect()).toMatchObject({ expired: 2, channels: [{ name: 'b', queued: 1 }] })
  })
})

describe('the Redis layers report what this process sees', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })

  afterAll(async () => {
    await redis.stop()
  })

  it('RedisChannelLayer: hosts, refused sends, no group list', async () => {
    const layer = new RedisChannelLayer({ hosts: [redis.url], capacity: 1, prefix: 'insp1' })
    try {
      await layer.send('full', { type: 'x' })
      await expect(layer.send('full', { type: 'x' })).rejects.toBeInstanceOf(ChannelFull)
      const report = layer.inspect()
      expect(report).toMatchObject({ backend: 'RedisChannelLayer', refused: 1, groups: null })
      expect(report.location).toContain(String(redis.port))
      expect(layer.groupMembers()).toBeNull()
    } finally {
      await layer.flush()
      await layer.close()
    }
  })

  it('RedisPubSubChannelLayer: the groups its channels joined, with its sends', async () => {
    const layer = new RedisPubSubChannelLayer({ hosts: [redis.url], prefix: 'insp2' })
    try {
      const channel = await layer.newChannel()
      await layer.groupAdd('room', channel)
      layer.inspect()
      await layer.groupSend('room', { type: 'x' })
      await layer.groupSend('elsewhere', { type: 'x' })
      const report = layer.inspect()
      expect(report).toMatchObject({
        backend: 'RedisPubSubChannelLayer',
        groups: [{ name: 'room', members: 1, sends: 1 }],
      })
      expect(layer.groupMembers('room')).toEqual([channel])
      expect(layer.groupMembers('elsewhere')).toBeNull()
    } finally {
      await layer.close()
    }
  })
})
