// The Redis layers when things go wrong, against real redis-server processes: Redis down at
// startup, restarted under traffic (what is lost and what is kept, per layer), messages that
// cannot be encoded, frames on Redis that cannot be decoded, a slow consumer against capacity,
// cancelled receives, and close().
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { CancelledError, ChannelFull } from '../../../../src/framework/asgi/errors.js'
import { setLogHandler, type LogRecord } from '../../../../src/framework/asgi/logging.js'
import type { ChannelMessage } from '../../../../src/framework/asgi/types.js'
import { packMessage } from '../../../../src/framework/layers/redis/codec.js'
import { parseUrl } from '../../../../src/framework/layers/redis/config.js'
import {
  RedisConnection,
  RedisConnectionError,
} from '../../../../src/framework/layers/redis/connection.js'
import { RedisChannelLayer } from '../../../../src/framework/layers/redis/core.js'
import { channelsRedisFernet } from '../../../../src/framework/layers/redis/fernet.js'
import { RedisPubSubChannelLayer } from '../../../../src/framework/layers/redis/pubsub.js'
import type { ChannelLayer } from '../../../../src/framework/layers/types.js'
import { nonLocalName } from '../../../../src/framework/layers/validation.js'
import { freePort } from '../../../helpers/free-port.js'
import { startRedis, type RedisServer } from '../../../helpers/redis-server.js'

// ---- helpers -------------------------------------------------------------------------------

let records: LogRecord[] = []
let previousHandler: ReturnType<typeof setLogHandler>
let unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

beforeEach(() => {
  records = []
  unhandled = []
  previousHandler = setLogHandler((record) => {
    if (record.logger === 'channels.layers.redis') records.push(record)
  })
  process.on('unhandledRejection', onUnhandled)
})

afterEach(() => {
  setLogHandler(previousHandler)
  process.off('unhandledRejection', onUnhandled)
})

/** Layers a test made; closed after it, whatever happened. */
const opened: ChannelLayer[] = []
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((layer) => layer.close()))
})

function core(config: Record<string, unknown>): RedisChannelLayer {
  const layer = new RedisChannelLayer(config)
  opened.push(layer)
  return layer
}

function pubsub(config: Record<string, unknown>): RedisPubSubChannelLayer {
  const layer = new RedisPubSubChannelLayer(config)
  opened.push(layer)
  return layer
}

function logged(level: LogRecord['level'], pattern: string | RegExp): LogRecord[] {
  return records.filter(
    (r) =>
      r.level === level &&
      (typeof pattern === 'string' ? r.message.includes(pattern) : pattern.test(r.message)),
  )
}

async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  promise.then(
    () => (done = true),
    () => (done = true),
  )
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  return !done
}

/** Poll until `check` passes (it throws until then); no timing is asserted. */
function eventually<T>(check: () => Promise<T> | T, timeout = 8_000): Promise<T> {
  return vi.waitFor(check, { timeout, interval: 20 })
}

async function zcard(redis: RedisServer, key: string): Promise<number> {
  return Number(await redis.cli('ZCARD', key))
}

/** Clients connected to `redis`, without the redis-cli asking. */
async function clientLines(redis: RedisServer): Promise<string[]> {
  const list = await redis.cli('CLIENT', 'LIST')
  return list.split('\n').filter((line) => line !== '' && !/ cmd=client\|list /.test(line))
}

/** How often Redis ran `command` since its stats were last reset (0 when never). */
async function calls(redis: RedisServer, command: string): Promise<number> {
  const stats = await redis.cli('INFO', 'commandstats')
  const match = new RegExp(`^cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`, 'm').exec(stats)
  return match === null ? 0 : Number(match[1])
}

/** Wait until some client is blocked in a BZPOPMIN on `key` (a receive loop is waiting). */
async function blockedOn(redis: RedisServer, key: string): Promise<void> {
  await eventually(async () => {
    const lines = await clientLines(redis)
    expect(lines.some((l) => / cmd=bzpopmin /.test(l))).toBe(true)
    expect(await zcard(redis, key)).toBe(0)
  })
}

/** Wait until `redis` has `count` subscribers on the pub/sub channel `name`. */
async function subscribed(redis: RedisServer, name: string, count = 1): Promise<void> {
  await eventually(async () => {
    expect(await redis.cli('PUBSUB', 'NUMSUB', name)).toBe(`${name}\n${count}`)
  })
}

/** A raw connection to `redis` (bytes in and out), for writing frames the layers would not. */
async function raw(redis: RedisServer): Promise<RedisConnection> {
  return RedisConnection.open(parseUrl(redis.url))
}

/** A core frame: 12 random bytes, then `body`. */
function frame(body: Uint8Array): Buffer {
  return Buffer.concat([randomBytes(12), body])
}

// ---- 2. Redis down at startup ---------------------------------------------------------------

describe('Redis down at startup (nothing listens on the port yet)', () => {
  let port: number
  let url: string
  let redis: RedisServer | undefined

  beforeAll(async () => {
    port = await freePort()
    url = `redis://127.0.0.1:${port}`
  })

  afterAll(async () => {
    await redis?.stop()
  })

  it('both layers build; send, groupAdd and groupSend reject with RedisConnectionError naming the host; a waiting receive waits, then works once Redis is up', async () => {
    const coreLayer = core({ hosts: [url] })
    const psLayer = pubsub({ hosts: [url] })
    const refused = `Cannot reach Redis at ${url}: `
    // Core.
    const mine = coreLayer.newChannelNow()
    for (const call of [
      () => coreLayer.send('startup', { type: 'a' }),
      () => coreLayer.send(mine, { type: 'a' }),
      () => coreLayer.groupAdd('startup-group', mine),
      () => coreLayer.groupSend('startup-group', { type: 'a' }),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(RedisConnectionError)
      expect((error as Error).message).toContain(refused)
      expect((error as Error).message).toMatch(/ECONNREFUSED/)
    }
    // Pub/sub: newChannel subscribes first, so it rejects too; newChannelNow names the channel
    // and subscribes in the background (retrying).
    await expect(psLayer.newChannel()).rejects.toThrow(RedisConnectionError)
    const psChannel = psLayer.newChannelNow()
    for (const call of [
      () => psLayer.send(psChannel, { type: 'a' }),
      () => psLayer.groupAdd('startup-group', psChannel),
      () => psLayer.groupSend('startup-group', { type: 'a' }),
    ]) {
      await expect(call()).rejects.toThrow(refused)
      await expect(call()).rejects.toBeInstanceOf(RedisConnectionError)
    }
    // A receive does not reject: it waits (its loop retries in the background).
    const coreNormal = coreLayer.receive('startup')
    const coreMine = coreLayer.receive(mine)
    const psReceived = psLayer.receive(psChannel)
    await eventually(() => expect(logged('warn', url).length).toBeGreaterThan(0))
    expect(await isPending(coreNormal)).toBe(true)
    expect(await isPending(coreMine)).toBe(true)
    expect(await isPending(psReceived)).toBe(true)

    redis = await startRedis({ port })
    await coreLayer.send('startup', { type: 'first.normal' })
    await coreLayer.send(mine, { type: 'first.mine' })
    expect(await coreNormal).toEqual({ type: 'first.normal' })
    expect(await coreMine).toEqual({ type: 'first.mine' })
    await subscribed(redis, psChannel)
    await psLayer.send(psChannel, { type: 'first.pubsub' })
    expect(await psReceived).toEqual({ type: 'first.pubsub' })
    // Both layers said once per layer that Redis was unreachable, and once that it is back.
    expect(logged('warn', `Connected to Redis at ${url}`)).toHaveLength(2)
    expect(logged('warn', `Cannot reach Redis at ${url}`)).toHaveLength(2)
    expect(logged('warn', 'Lost the connection')).toEqual([])
    expect(logged('error', '')).toEqual([])
    expect(unhandled).toEqual([])
  })
})

// ---- 3. Redis restarted under traffic --------------------------------------------------------

describe('core layer: Redis restarted under traffic', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })

  afterAll(async () => {
    await redis.stop()
  })

  it('waiting receives resume; queued in Redis is lost with its memory, buffered in the process is kept; one warning each way', async () => {
    const layer = core({ hosts: [redis.url] })
    const mine = layer.newChannelNow()
    const other = layer.newChannelNow()
    const processKey = `asgi${nonLocalName(mine)}`
    // Receives waiting in BZPOPMIN on a normal channel and on this process's key.
    const normal = layer.receive('restart-normal')
    const specific = layer.receive(mine)
    await blockedOn(redis, 'asgirestart-normal')
    // `other` has no receiver: its message is taken from Redis into the process's buffer.
    await layer.send(other, { type: 'buffered.before' })
    await eventually(async () => {
      expect(await zcard(redis, processKey)).toBe(0)
      expect(await zcard(redis, `${processKey}$inflight`)).toBe(0)
    })
    // Nobody receives on `queued`: its message waits in Redis.
    await layer.send('queued', { type: 'queued.before' })
    expect(await zcard(redis, 'asgiqueued')).toBe(1)

    await redis.restart()

    // This Redis keeps nothing across a restart: the queued message is gone with it.
    expect(await zcard(redis, 'asgiqueued')).toBe(0)
    await layer.send('restart-normal', { type: 'normal.after' })
    await layer.send(mine, { type: 'mine.after' })
    expect(await normal).toEqual({ type: 'normal.after' })
    expect(await specific).toEqual({ type: 'mine.after' })
    // What the process had already taken from Redis is kept.
    expect(await layer.receive(other)).toEqual({ type: 'buffered.before' })
    // The next message on `queued` is the first one sent after the restart.
    await layer.send('queued', { type: 'queued.after' })
    expect(await layer.receive('queued')).toEqual({ type: 'queued.after' })

    expect(logged('warn', `Lost the connection to Redis at ${redis.url}`)).toHaveLength(1)
    expect(logged('warn', `Reconnected to Redis at ${redis.url}`)).toHaveLength(1)
    expect(logged('error', '')).toEqual([])
    expect(unhandled).toEqual([])
  })

  it('with Redis persisting (SAVE before the restart), queued messages survive and arrive', async () => {
    const layer = core({ hosts: [redis.url] })
    await layer.send('persisted', { type: 'saved', n: 1 })
    await layer.send('persisted', { type: 'saved', n: 2 })
    expect(await redis.cli('SAVE')).toBe('OK')
    await redis.restart()
    expect(await zcard(redis, 'asgipersisted')).toBe(2)
    expect(await layer.receive('persisted')).toEqual({ type: 'saved', n: 1 })
    expect(await layer.receive('persisted')).toEqual({ type: 'saved', n: 2 })
    await redis.cli('FLUSHALL')
    await redis.cli('SAVE')
  })

  it('while Redis is down, send and groupSend reject with RedisConnectionError (the caller knows); a receive waiting meanwhile gets what is sent once it is back', async () => {
    const port = redis.port
    const layer = core({ hosts: [redis.url] })
    const mine = layer.newChannelNow()
    await layer.groupAdd('down-group', mine)
    const waiting = layer.receive(mine)
    await blockedOn(redis, `asgi${nonLocalName(mine)}`)
    await redis.stop('SIGKILL')
    // Once the layer has seen the connection go: a group send in the moment before that is
    // queued on a socket that is already dead, returns, and fails later (logged).
    await eventually(() => expect(logged('warn', 'Lost the connection')).toHaveLength(1))
    try {
      await expect(layer.send(mine, { type: 'lost?' })).rejects.toBeInstanceOf(RedisConnectionError)
      await expect(layer.groupSend('down-group', { type: 'lost?' })).rejects.toThrow(
        `Cannot reach Redis at ${redis.url}`,
      )
      expect(await isPending(waiting)).toBe(true)
    } finally {
      redis = await startRedis({ port })
    }
    // A fresh Redis: the group is gone with the old one's memory; direct sends work.
    await layer.send(mine, { type: 'after.crash' })
    expect(await waiting).toEqual({ type: 'after.crash' })
    expect(logged('warn', `Lost the connection to Redis at ${redis.url}`)).toHaveLength(1)
    expect(logged('warn', `Reconnected to Redis at ${redis.url}`)).toHaveLength(1)
    expect(logged('error', '')).toEqual([])
    expect(unhandled).toEqual([])
  })
})

describe('pub/sub layer: Redis restarted under traffic', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })

  afterAll(async () => {
    await redis.stop()
  })

  it('subscriptions are renewed after the restart; a waiting receive gets later messages; one warning each way', async () => {
    const receiver = pubsub({ hosts: [redis.url] })
    const sender = pubsub({ hosts: [redis.url] })
    const channel = await receiver.newChannel()
    await receiver.groupAdd('ps-restart', channel)
    const waiting = receiver.receive(channel)
    await redis.restart()
    // While nobody is subscribed again, a publish reaches nobody; wait for the renewal.
    await subscribed(redis, channel)
    await subscribed(redis, 'asgi__group__ps-restart')
    await sender.send(channel, { type: 'direct.after' })
    expect(await waiting).toEqual({ type: 'direct.after' })
    await sender.groupSend('ps-restart', { type: 'group.after' })
    expect(await receiver.receive(channel)).toEqual({ type: 'group.after' })
    // The receiver's (the sender connected after the restart): one warning each way.
    expect(logged('warn', `Lost the connection to Redis at ${redis.url}`)).toHaveLength(1)
    expect(logged('warn', `Reconnected to Redis at ${redis.url}`)).toHaveLength(1)
    expect(logged('error', '')).toEqual([])
    expect(unhandled).toEqual([])
  })

  it('a message published while the subscriber is disconnected is lost; the next one arrives', async () => {
    const receiver = pubsub({ hosts: [redis.url] })
    const channel = await receiver.newChannel()
    const waiting = receiver.receive(channel)
    const publisher = await raw(redis)
    try {
      // Drop the subscriber's connection (Redis stays up), then publish before it comes back
      // (the layer waits 100 ms before reconnecting). PUBLISH answers how many got it: none.
      expect(await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBe('1')
      const reached = await publisher.call(['PUBLISH', channel, packMessage({ type: 'lost' })])
      expect(reached).toBe(0)
      await subscribed(redis, channel)
      expect(
        await publisher.call(['PUBLISH', channel, packMessage({ type: 'after.renewal' })]),
      ).toBe(1)
      expect(await waiting).toEqual({ type: 'after.renewal' })
    } finally {
      await publisher.close()
    }
    expect(logged('warn', `Lost the connection to Redis at ${redis.url}`)).toHaveLength(1)
    expect(logged('warn', `Reconnected to Redis at ${redis.url}`)).toHaveLength(1)
  })

  it('while Redis is down, send and groupSend reject with RedisConnectionError', async () => {
    const port = redis.port
    const layer = pubsub({ hosts: [redis.url] })
    const channel = await layer.newChannel()
    await layer.groupAdd('ps-down', channel)
    await layer.send(channel, { type: 'warm' })
    expect(await layer.receive(channel)).toEqual({ type: 'warm' })
    await redis.stop('SIGKILL')
    await eventually(() => expect(logged('warn', 'Lost the connection')).toHaveLength(1))
    try {
      await expect(layer.send(channel, { type: 'x' })).rejects.toBeInstanceOf(RedisConnectionError)
      await expect(layer.groupSend('ps-down', { type: 'x' })).rejects.toThrow(
        `Cannot reach Redis at ${redis.url}`,
      )
    } finally {
      redis = await startRedis({ port })
    }
    await subscribed(redis, channel)
    await subscribed(redis, 'asgi__group__ps-down')
    await layer.groupSend('ps-down', { type: 'back' })
    expect(await layer.receive(channel)).toEqual({ type: 'back' })
    expect(unhandled).toEqual([])
  })
})

describe('a send queued on a live connection when Redis dies before running it', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })

  afterAll(async () => {
    await redis.stop()
  })

  it('core groupSend and pub/sub send/groupSend have returned; the message is lost and the failure logged', async () => {
    const port = redis.port
    const coreLayer = core({ hosts: [redis.url] })
    const psLayer = pubsub({ hosts: [redis.url] })
    const mine = coreLayer.newChannelNow()
    await coreLayer.groupAdd('dies', mine)
    const channel = await psLayer.newChannel()
    await psLayer.groupAdd('dies', channel)
    await psLayer.send(channel, { type: 'warm' })
    expect(await psLayer.receive(channel)).toEqual({ type: 'warm' })
    // Redis holds every command from now on, then dies without running them.
    expect(await redis.cli('CLIENT', 'PAUSE', '10000', 'ALL')).toBe('OK')
    await coreLayer.groupSend('dies', { type: 'never.stored' })
    await psLayer.send(channel, { type: 'never.published' })
    await psLayer.groupSend('dies', { type: 'never.published' })
    await redis.stop('SIGKILL')
    await eventually(() => expect(logged('error', 'failed after it was queued')).toHaveLength(3))
    expect(logged('error', 'Sending to group dies failed after it was queued')).toHaveLength(1)
    expect(logged('error', `Publishing to ${channel} failed after it was queued`)).toHaveLength(1)
    expect(
      logged('error', 'Publishing to asgi__group__dies failed after it was queued'),
    ).toHaveLength(1)
    // Nothing is retried once Redis is back: the next message each channel gets is a new one.
    redis = await startRedis({ port })
    await coreLayer.send(mine, { type: 'after' })
    expect(await coreLayer.receive(mine)).toEqual({ type: 'after' })
    await subscribed(redis, channel)
    await psLayer.send(channel, { type: 'after' })
    expect(await psLayer.receive(channel)).toEqual({ type: 'after' })
    expect(unhandled).toEqual([])
  })
})

// ---- 4. messages that cannot be encoded -------------------------------------------------------

describe('a message that cannot be encoded is refused at send and groupSend', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })

  afterAll(async () => {
    await redis.stop()
  })

  const cycle: Record<string, unknown> = { type: 'cycle' }
  cycle.self = { back: cycle }
  // A cycle is named where the walk meets a container again: the core layer's send to a
  // process channel copies the top level (to add __asgi_channel__), so there it is one key later.
  const BAD: [string, ChannelMessage, string | RegExp][] = [
    ['a function', { type: 't', x: () => 1 }, 'Cannot encode message key "x": a function'],
    ['a symbol', { type: 't', x: Symbol('s') }, 'Cannot encode message key "x": a symbol'],
    [
      'a cycle',
      cycle as ChannelMessage,
      /^Cannot encode message key "self\.back(\.self)?": a cycle/,
    ],
    [
      'a bigint of 2^64',
      { type: 't', payload: { items: [1, 2n ** 64n] } },
      'Cannot encode message key "payload.items[1]": a bigint outside the 64-bit integer range',
    ],
    [
      'a Map',
      { type: 't', 'content-type': new Map() },
      'Cannot encode message key "[\\"content-type\\"]": a Map',
    ],
  ]

  for (const [name, makeLayer] of [
    ['core', () => core({ hosts: [redis.url] })],
    ['pub/sub', () => pubsub({ hosts: [redis.url] })],
  ] as const) {
    it(`${name}: TypeError naming the key; nothing reaches Redis; the layer keeps working`, async () => {
      const layer = makeLayer()
      const channel = await layer.newChannel()
      await layer.groupAdd('encode-group', channel)
      await redis.cli('CONFIG', 'RESETSTAT')
      for (const [, message, text] of BAD) {
        for (const call of [
          () => layer.send(channel, message),
          () => layer.send('encode-normal', message),
          () => layer.groupSend('encode-group', message),
          () => layer.groupSend('encode-empty-group', message),
        ]) {
          const error = await call().then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(error).toBeInstanceOf(TypeError)
          if (typeof text === 'string') expect((error as Error).message).toContain(text)
          else expect((error as Error).message).toMatch(text)
        }
      }
      for (const write of ['zadd', 'eval', 'publish', 'expire']) {
        expect(await calls(redis, write), write).toBe(0)
      }
      // `undefined` is encodable: the key is left out (as JSON does), in a list it is null.
      await layer.send(channel, { type: 'ok', gone: undefined, list: [undefined, 1] })
      const received = await layer.receive(channel)
      expect(received).toEqual({ type: 'ok', list: [null, 1] })
      expect('gone' in received).toBe(false)
      await layer.groupSend('encode-group', { type: 'group.ok' })
      expect(await layer.receive(channel)).toEqual({ type: 'group.ok' })
      expect(records).toEqual([])
    })
  }
})

// ---- 5. frames on Redis that cannot be decoded ---------------------------------------------------

describe('a frame on Redis that cannot be decoded is logged and skipped', () => {
  let redis: RedisServer
  let writer: RedisConnection

  beforeAll(async () => {
    redis = await startRedis()
    writer = await raw(redis)
  })

  afterAll(async () => {
    await writer.close()
    await redis.stop()
  })

  /** ZADD raw frames to `key` with increasing scores (before anything the layer sends). */
  async function queue(key: string, frames: Buffer[]): Promise<void> {
    const base = Date.now() / 1000 - 5
    for (const [i, member] of frames.entries()) {
      await writer.call(['ZADD', key, String(base + i * 0.001), member])
    }
  }

  const BAD_MSGPACK = frame(Buffer.from([0xc1]))
  /** msgpack for the str "abc". */
  const NOT_A_MAP = frame(Buffer.from([0xa3, 0x61, 0x62, 0x63]))
  const SHORT = Buffer.from([1, 2, 3, 4, 5])

  it('core, normal channel: bad msgpack, a non-map, a short frame, a Fernet token without keys; the next good message arrives', async () => {
    const layer = core({ hosts: [redis.url] })
    const encrypted = frame(channelsRedisFernet('k').encrypt(packMessage({ type: 'secret' })))
    await queue('asgiundecodable', [BAD_MSGPACK, NOT_A_MAP, SHORT, encrypted])
    await layer.send('undecodable', { type: 'good' })
    expect(await layer.receive('undecodable')).toEqual({ type: 'good' })
    const skipped = logged('error', 'Skipped a message on asgiundecodable that cannot be read')
    expect(skipped.map((r) => r.message.replace(/^.*cannot be read: /, ''))).toEqual([
      expect.stringContaining('bad msgpack'),
      expect.stringContaining('expected a msgpack map at the top level, got a str'),
      expect.stringContaining('shorter than the 12-byte random prefix'),
      expect.stringContaining(
        'it is Fernet-encrypted, and this layer has no symmetric_encryption_keys',
      ),
    ])
    // Nothing stays behind: the bad frames are consumed, not retried.
    expect(await zcard(redis, 'asgiundecodable')).toBe(0)
    expect(await zcard(redis, 'asgiundecodable$inflight')).toBe(0)
    await layer.send('undecodable', { type: 'still.working' })
    expect(await layer.receive('undecodable')).toEqual({ type: 'still.working' })
  })

  it('core, encrypted: wrong key, expired token, garbage token, plain msgpack; the next good one arrives', async () => {
    const layer = core({ hosts: [redis.url], symmetric_encryption_keys: ['right'] })
    const body = packMessage({ type: 'x' })
    await queue('asgisealed', [
      frame(channelsRedisFernet('wrong').encrypt(body)),
      frame(channelsRedisFernet('right').encrypt(body, Date.now() / 1000 - 3600)),
      frame(Buffer.from('gAAAAABgarbage', 'latin1')),
      frame(body),
    ])
    await layer.send('sealed', { type: 'good' })
    expect(await layer.receive('sealed')).toEqual({ type: 'good' })
    const skipped = logged('error', 'Skipped a message on asgisealed that cannot be read')
    expect(skipped.map((r) => r.message.replace(/^.*cannot be read: /, ''))).toEqual([
      expect.stringContaining('no symmetric_encryption_keys entry matches the sender key'),
      expect.stringContaining('older than expiry + 10 s'),
      expect.stringContaining('not a Fernet token'),
      expect.stringContaining('not a Fernet token'),
    ])
    expect(await zcard(redis, 'asgisealed')).toBe(0)
  })

  it('core, process key: an undecodable frame and one without a target are skipped; the channel’s next message arrives', async () => {
    const layer = core({ hosts: [redis.url] })
    const mine = layer.newChannelNow()
    const key = `asgi${nonLocalName(mine)}`
    await queue(key, [BAD_MSGPACK, frame(packMessage({ type: 'no.target' }))])
    await layer.send(mine, { type: 'good' })
    expect(await layer.receive(mine)).toEqual({ type: 'good' })
    expect(logged('error', `Skipped a message on ${key} that cannot be read`)).toHaveLength(1)
    expect(logged('error', `Skipped a message on ${key} without a target channel`)).toHaveLength(1)
    expect(await zcard(redis, key)).toBe(0)
    expect(await zcard(redis, `${key}$inflight`)).toBe(0)
  })

  it('pub/sub: bad msgpack and a non-map PUBLISHed on the channel are skipped; the next good one arrives', async () => {
    const layer = pubsub({ hosts: [redis.url] })
    const channel = await layer.newChannel()
    await layer.groupAdd('ps-undecodable', channel)
    const waiting = layer.receive(channel)
    expect(await writer.call(['PUBLISH', channel, Buffer.from([0xc1])])).toBe(1)
    expect(
      await writer.call(['PUBLISH', 'asgi__group__ps-undecodable', Buffer.from([0x93, 1, 2, 3])]),
    ).toBe(1)
    expect(await writer.call(['PUBLISH', channel, packMessage({ type: 'good' })])).toBe(1)
    expect(await waiting).toEqual({ type: 'good' })
    expect(logged('error', `Skipped a message on ${channel} that cannot be read`)).toHaveLength(1)
    expect(
      logged('error', 'Skipped a message on asgi__group__ps-undecodable that cannot be read'),
    ).toHaveLength(1)
    await layer.groupSend('ps-undecodable', { type: 'group.good' })
    expect(await layer.receive(channel)).toEqual({ type: 'group.good' })
  })
})

// ---- 6. slow consumer -------------------------------------------------------------------------------

describe('core layer: a slow consumer against capacity', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })

  afterAll(async () => {
    await redis.stop()
  })

  it('a channel nobody reads fills to capacity in Redis, then send raises ChannelFull; the messages wait there, in order', async () => {
    const layer = core({
      hosts: [redis.url],
      capacity: 3,
      channel_capacity: { 'wide-*': 5, [String(/^narrow$/)]: 1 },
    })
    for (const [channel, capacity] of [
      ['slow', 3],
      ['wide-1', 5],
    ] as const) {
      for (let i = 0; i < capacity; i++) await layer.send(channel, { type: 'm', i })
      expect(await zcard(redis, `asgi${channel}`)).toBe(capacity)
      const error = await layer.send(channel, { type: 'm', i: capacity }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ChannelFull)
      expect((error as Error).message).toBe(`Channel ${channel} is full`)
      expect(await zcard(redis, `asgi${channel}`)).toBe(capacity)
    }
    // A group send skips the full member (no error) and reaches the others.
    await layer.groupAdd('slow-group', 'slow')
    await layer.groupAdd('slow-group', 'fast')
    await layer.groupSend('slow-group', { type: 'group' })
    expect(await layer.receive('fast')).toEqual({ type: 'group' })
    expect(await zcard(redis, 'asgislow')).toBe(3)
    // The slow consumer finally reads: everything it was sent before it filled, in order.
    const got = [
      await layer.receive('slow'),
      await layer.receive('slow'),
      await layer.receive('slow'),
    ]
    expect(got.map((m) => m.i)).toEqual([0, 1, 2])
    expect(await zcard(redis, 'asgislow')).toBe(0)
    await layer.send('slow', { type: 'm', i: 3 })
    expect(await layer.receive('slow')).toEqual({ type: 'm', i: 3 })
  })

  it('a process’s channels share one key and one capacity, as in channels_redis', async () => {
    const layer = core({ hosts: [redis.url], capacity: 3 })
    const [a, b] = [layer.newChannelNow(), layer.newChannelNow()]
    await layer.send(a, { type: 'a' })
    await layer.send(a, { type: 'a' })
    await layer.send(b, { type: 'b' })
    expect(await zcard(redis, `asgi${nonLocalName(a)}`)).toBe(3)
    await expect(layer.send(b, { type: 'b' })).rejects.toBeInstanceOf(ChannelFull)
    expect(await layer.receive(b)).toEqual({ type: 'b' })
  })

  it('a channel whose receiver is busy: the process buffers up to capacity, dropping the oldest with a warning', async () => {
    const layer = core({ hosts: [redis.url], capacity: 3 })
    const [busy, live] = [layer.newChannelNow(), layer.newChannelNow()]
    const key = `asgi${nonLocalName(busy)}`
    // A receive on `live` keeps this process reading its key; `busy` has no receiver.
    const waiting = layer.receive(live)
    for (let i = 0; i < 5; i++) {
      await layer.send(busy, { type: 'm', i })
      await eventually(async () => expect(await zcard(redis, key)).toBe(0))
    }
    const dropped = logged('warn', `Channel ${busy} is not reading its messages`)
    expect(dropped).toHaveLength(2)
    const got = [await layer.receive(busy), await layer.receive(busy), await layer.receive(busy)]
    expect(got.map((m) => m.i)).toEqual([2, 3, 4])
    await layer.send(live, { type: 'done' })
    expect(await waiting).toEqual({ type: 'done' })
  })
})

// ---- 7. cancelled receives --------------------------------------------------------------------------

describe('core layer: a cancelled receive loses nothing', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })

  afterAll(async () => {
    await redis.stop()
  })

  it('normal channel: cancelled while blocked in Redis, the message sent next is kept in Redis for the next receive, even another process’s', async () => {
    const layer = core({ hosts: [redis.url] })
    const controller = new AbortController()
    const cancelled = layer.receive('cancel-normal', { signal: controller.signal })
    await blockedOn(redis, 'asgicancel-normal')
    controller.abort(new Error('leaving'))
    await expect(cancelled).rejects.toThrow('leaving')
    await layer.send('cancel-normal', { type: 'after.cancel' })
    // The loop was still blocked and popped it: with nobody to give it to, it stays in the
    // channel's $inflight backup, which the next receive anywhere puts back first.
    await eventually(async () => {
      expect(
        (await zcard(redis, 'asgicancel-normal')) +
          (await zcard(redis, 'asgicancel-normal$inflight')),
      ).toBe(1)
    })
    const otherProcess = core({ hosts: [redis.url] })
    expect(await otherProcess.receive('cancel-normal')).toEqual({ type: 'after.cancel' })
    expect(await zcard(redis, 'asgicancel-normal$inflight')).toBe(0)
  })

  it('normal channel: the same process’s next receive gets it too', async () => {
    const layer = core({ hosts: [redis.url] })
    const controller = new AbortController()
    const cancelled = layer.receive('cancel-same', { signal: controller.signal })
    await blockedOn(redis, 'asgicancel-same')
    controller.abort()
    await expect(cancelled).rejects.toThrow()
    await layer.send('cancel-same', { type: 'after.cancel' })
    expect(await layer.receive('cancel-same')).toEqual({ type: 'after.cancel' })
  })

  it('process channel: a message arriving after the cancel goes to the next receive', async () => {
    const layer = core({ hosts: [redis.url] })
    const mine = layer.newChannelNow()
    const controller = new AbortController()
    const cancelled = layer.receive(mine, { signal: controller.signal })
    await blockedOn(redis, `asgi${nonLocalName(mine)}`)
    controller.abort()
    await expect(cancelled).rejects.toThrow()
    await layer.send(mine, { type: 'after.cancel' })
    expect(await layer.receive(mine)).toEqual({ type: 'after.cancel' })
  })

  for (const kind of ['normal', 'process'] as const) {
    it(`${kind} channel: receives in sequence keep order, and cancels in between lose and duplicate nothing`, async () => {
      const layer = core({ hosts: [redis.url] })
      const channel = kind === 'normal' ? 'ordered' : layer.newChannelNow()
      const count = 30
      for (let i = 0; i < count; i++) await layer.send(channel, { type: 'm', i })
      const got: number[] = []
      let aborts = 0
      for (let round = 0; got.length < count; round++) {
        if (round % 3 === 1) {
          aborts++
          // An abort racing a delivery: either this receive has the message, or the next one.
          const controller = new AbortController()
          const pending = layer.receive(channel, { signal: controller.signal })
          controller.abort()
          const outcome = await pending.catch(() => undefined)
          if (outcome !== undefined) got.push(outcome.i as number)
          continue
        }
        got.push((await layer.receive(channel)).i as number)
      }
      expect(got).toEqual([...Array(count).keys()])
      expect(aborts).toBeGreaterThan(5)
    })
  }
})

// ---- 10. close() -----------------------------------------------------------------------------------

describe('close()', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })

  afterAll(async () => {
    await redis.stop()
  })

  it('core: ends blocked BZPOPMINs with CLIENT UNBLOCK, rejects waiting receives with CancelledError, closes every connection', async () => {
    const layer = new RedisChannelLayer({ hosts: [redis.url] })
    const mine = layer.newChannelNow()
    await layer.send('warm', { type: 'w' })
    const waiting = [layer.receive('close-normal'), layer.receive(mine)]
    await eventually(async () => {
      const lines = await clientLines(redis)
      expect(lines.filter((l) => / cmd=bzpopmin /.test(l))).toHaveLength(2)
    })
    expect((await clientLines(redis)).length).toBeGreaterThanOrEqual(3)
    await redis.cli('CONFIG', 'RESETSTAT')
    await layer.close()
    for (const receive of waiting) {
      await expect(receive).rejects.toBeInstanceOf(CancelledError)
      await expect(receive).rejects.toThrow('Channel layer closed')
    }
    expect(await calls(redis, 'client|unblock')).toBe(2)
    await eventually(async () => expect(await clientLines(redis)).toEqual([]))
    // Closed means closed: later calls fail at once, and nothing is taken from Redis.
    await expect(layer.send('warm', { type: 'x' })).rejects.toThrow('layer closed')
    await expect(layer.receive('warm')).rejects.toThrow('The channel layer is closed')
    expect(await zcard(redis, 'asgiwarm')).toBe(1)
    // A message sent to the closed receive's channel afterwards stays in Redis for whoever
    // receives next: the unblocked pop took nothing.
    const other = core({ hosts: [redis.url] })
    await other.send('close-normal', { type: 'kept' })
    expect(await zcard(redis, 'asgiclose-normal')).toBe(1)
    expect(await other.receive('close-normal')).toEqual({ type: 'kept' })
    await other.flush()
  })

  it('pub/sub: rejects waiting receives with CancelledError, closes the subscriber and command connections', async () => {
    const layer = new RedisPubSubChannelLayer({ hosts: [redis.url] })
    const channel = await layer.newChannel()
    await layer.groupAdd('close-group', channel)
    await layer.send(channel, { type: 'warm' })
    expect(await layer.receive(channel)).toEqual({ type: 'warm' })
    const waiting = layer.receive(channel)
    expect((await clientLines(redis)).length).toBe(2)
    await layer.close()
    await expect(waiting).rejects.toBeInstanceOf(CancelledError)
    await eventually(async () => expect(await clientLines(redis)).toEqual([]))
    expect(await redis.cli('PUBSUB', 'NUMSUB', channel)).toBe(`${channel}\n0`)
    await expect(layer.send(channel, { type: 'x' })).rejects.toThrow()
  })

  it('close() twice, and close() of a layer that never connected, both resolve', async () => {
    const layer = new RedisChannelLayer({ hosts: [redis.url] })
    await layer.send('twice', { type: 'x' })
    await Promise.all([layer.close(), layer.close()])
    await new RedisChannelLayer({ hosts: [redis.url] }).close()
    await new RedisPubSubChannelLayer({ hosts: [redis.url] }).close()
    await eventually(async () => expect(await clientLines(redis)).toEqual([]))
  })
})
