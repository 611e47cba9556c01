/**
 * Interop with a real Django Channels process: daphne serving test/fixtures/django-interop
 * (channels 4 + channels_redis 4.0 from Debian) and a channels-ts server share one real
 * redis-server. Each side has the same consumer (consumers.py / interop-consumer.ts); WebSocket
 * clients drive them, so every message below crosses Redis between Python and TypeScript.
 */
import WebSocket from 'ws'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { configureSettings } from '../../src/framework/settings/index.js'
import type { Settings } from '../../src/framework/settings/index.js'
import { channelLayers } from '../../src/framework/layers/index.js'
import { createServer, type Server } from '../../src/server/index.js'
import { recordLogs } from '../helpers/with-server.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'
import { startDaphne, type Daphne } from '../fixtures/django-interop/daphne.js'
import { interopApplication } from '../fixtures/django-interop/interop-consumer.js'

// The BACKEND names Django's settings.py uses too.
const CORE = 'channels_redis.core.RedisChannelLayer'
const PUBSUB = 'channels_redis.pubsub.RedisPubSubChannelLayer'
const KEY_A = 'interop-key-A'
const KEY_B = 'interop-key-B'

/**
 * The values that cross, in the tagged JSON form both consumers use: bytes as
 * `{"__bytes__": hex}`, floats as `{"__float__": x}`, ints beyond 2^53 - 1 as
 * `{"__bigint__": digits}`. A receiver renders what its layer decoded in the same form, so an int
 * that arrived as a float, or bytes that arrived as a string, would not compare equal.
 */
const PAYLOAD = {
  text: 'héllo wörld ✓ 日本語',
  empty_text: '',
  bytes: { __bytes__: '00ff7f80c3a9' },
  empty_bytes: { __bytes__: '' },
  int: 42,
  negative: -7,
  zero: 0,
  int_2_31: 2 ** 31,
  int_2_40: 2 ** 40,
  negative_2_40: -(2 ** 40),
  // Beyond 2^53 - 1 channels-ts reads an int as a bigint and writes a bigint as an int.
  big_ints: [
    { __bigint__: String(2n ** 53n + 1n) },
    { __bigint__: String(2n ** 60n) },
    { __bigint__: String(-(2n ** 63n)) },
    { __bigint__: String(2n ** 64n - 1n) },
  ],
  float: { __float__: 3.25 },
  small_float: { __float__: -0.000123 },
  none: null,
  yes: true,
  no: false,
  list: [1, 'two', { __bytes__: '03' }, [null, { __float__: 4.5 }, []]],
  dict: { nested: { deep: [true, { k: 'v' }] }, 'key with spaces': 1, empty: {} },
}

type Json = Record<string, unknown>

/** A WebSocket client of one consumer; keeps every JSON message until a test takes it. */
class Peer {
  private buffer: Json[] = []
  private waiters = new Set<() => void>()
  readonly closed: Promise<number>
  greeting: Json = {}

  private constructor(
    readonly label: string,
    private readonly ws: WebSocket,
  ) {
    ws.on('message', (data: Buffer) => {
      this.buffer.push(JSON.parse(data.toString('utf8')) as Json)
      for (const waiter of this.waiters) waiter()
    })
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)))
  }

  static async open(label: string, url: string): Promise<Peer> {
    // Listening from the start: the greeting can arrive in the same chunk as the handshake.
    const peer = new Peer(label, new WebSocket(url))
    await new Promise<void>((resolve, reject) => {
      peer.ws.once('open', () => resolve())
      peer.ws.once('error', reject)
    })
    peer.greeting = await peer.take((m) => 'channel_name' in m)
    return peer
  }

  get channelName(): string {
    return this.greeting.channel_name as string
  }

  send(command: Json): void {
    this.ws.send(JSON.stringify(command))
  }

  /** The first message, received or still to come, matching `predicate` (taken off the buffer). */
  take(predicate: (message: Json) => boolean, timeout = 5_000): Promise<Json> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.buffer.findIndex(predicate)
        if (index === -1) return
        const [message] = this.buffer.splice(index, 1)
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve(message!)
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(
          new Error(
            `${this.label}: no matching message in ${timeout} ms; buffered: ` +
              JSON.stringify(this.buffer),
          ),
        )
      }, timeout)
      this.waiters.add(check)
      check()
    })
  }

  /** Every message matching `predicate` that arrives within `ms` (none expected, usually). */
  async collect(predicate: (message: Json) => boolean, ms: number): Promise<Json[]> {
    await new Promise((resolve) => setTimeout(resolve, ms))
    return this.buffer.filter(predicate)
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close()
    await this.closed
  }
}

const isChatMessage = (message: Json) => message.handler === 'chat_message'

let redis: RedisServer
let daphne: Daphne
let server: Server | undefined
let tsUrl = ''
let previousSettings: Settings | undefined
const transcript: string[] = []
let groupCounter = 0

/** `specific.0f9d54…!…ef988e`: the process part and the end of the channel's own part. */
function short(channel: string): string {
  const bang = channel.indexOf('!')
  if (bang !== -1) return `${channel.slice(0, Math.min(bang, 15))}…!…${channel.slice(-6)}`
  return channel.length > 24 ? `${channel.slice(0, 16)}…${channel.slice(-6)}` : channel
}

function note(layer: string, from: Peer, operation: string, to: Peer, outcome: string): void {
  const line =
    `${layer.padEnd(16)} ${from.label.padEnd(6)} ${operation.padEnd(10)} → ` +
    `${to.label.padEnd(6)} ${outcome}`
  transcript.push(line)
}

/** Connect one Django and one channels-ts consumer to a fresh group on the given aliases. */
async function pair(djangoAlias: string, tsAlias: string): Promise<[Peer, Peer, string]> {
  const group = `interop-${djangoAlias}-${++groupCounter}`
  const django = await Peer.open('django', `${daphne.wsUrl}/ws/${djangoAlias}/${group}/`)
  const ts = await Peer.open('ts', `${tsUrl}/ws/${tsAlias}/${group}/`)
  expect(django.greeting).toMatchObject({ side: 'django', layer: djangoAlias, group })
  expect(ts.greeting).toMatchObject({ side: 'ts', layer: tsAlias, group })
  return [django, ts, group]
}

/** What Redis holds for the group: one sorted set (core) or one subscription per process. */
async function showGroup(layer: string, alias: string, group: string, peers: Peer[]) {
  if (alias === 'pubsub') {
    const reply = await redis.cli('PUBSUB', 'NUMSUB', `asgi__group__${group}`)
    expect(reply).toBe(`asgi__group__${group}\n2`)
    transcript.push(
      `${layer.padEnd(16)} group ${group}: pub/sub channel asgi__group__${group}, ` +
        '2 subscribers (one per process)',
    )
    return
  }
  const prefix = alias === 'core' ? 'asgi' : 'asgi_encrypted'
  const members = (await redis.cli('ZRANGE', `${prefix}:group:${group}`, '0', '-1')).split('\n')
  expect(members.sort()).toEqual(peers.map((peer) => peer.channelName).sort())
  transcript.push(
    `${layer.padEnd(16)} group ${group}: ZSET ${prefix}:group:${group} = ` +
      members.map(short).join(', '),
  )
}

/** `sender` group_sends the payload; `receiver` must get it in chat_message, values equal. */
async function groupSendAcross(layer: string, sender: Peer, receiver: Peer): Promise<void> {
  const payload = { ...PAYLOAD, from: sender.label }
  sender.send({ group_send: payload })
  await sender.take((m) => m.done === 'group_send')
  const received = await receiver.take(isChatMessage)
  expect(received).toStrictEqual({
    handler: 'chat_message',
    side: receiver.label,
    event: { ...payload, type: 'chat.message' },
  })
  // The sender is in the group too and hears its own message.
  expect((await sender.take(isChatMessage)).event).toStrictEqual({
    ...payload,
    type: 'chat.message',
  })
  const count = Object.keys(PAYLOAD).length
  note(layer, sender, 'group_send', receiver, `chat_message, ${count} typed values equal`)
}

/** `sender` sends to `receiver`'s channel (learnt from its greeting); values equal. */
async function sendAcross(layer: string, sender: Peer, receiver: Peer): Promise<void> {
  const message = { ...PAYLOAD, from: sender.label, direct: true }
  sender.send({ send: { channel: receiver.channelName, message } })
  await sender.take((m) => m.done === 'send')
  const received = await receiver.take(isChatMessage)
  expect(received).toStrictEqual({
    handler: 'chat_message',
    side: receiver.label,
    event: { ...message, type: 'chat.message' },
  })
  note(layer, sender, 'send', receiver, `chat_message on ${short(receiver.channelName)}, equal`)
}

beforeAll(async () => {
  redis = await startRedis()
  const redisUrl = redis.url
  daphne = await startDaphne({ REDIS_URL: redisUrl, LAYER: 'core', ENCRYPTION_KEY: KEY_A })
  previousSettings = configureSettings({
    CHANNEL_LAYERS: {
      core: { BACKEND: CORE, CONFIG: { hosts: [redisUrl] } },
      pubsub: { BACKEND: PUBSUB, CONFIG: { hosts: [redisUrl] } },
      core_encrypted: {
        BACKEND: CORE,
        CONFIG: {
          hosts: [redisUrl],
          prefix: 'asgi_encrypted',
          symmetric_encryption_keys: [KEY_A],
        },
      },
      // Django's core_encrypted prefix, another key.
      core_wrong_key: {
        BACKEND: CORE,
        CONFIG: {
          hosts: [redisUrl],
          prefix: 'asgi_encrypted',
          symmetric_encryption_keys: [KEY_B],
        },
      },
    },
  })
  const app = interopApplication(['core', 'pubsub', 'core_encrypted', 'core_wrong_key'])
  server = createServer(app, ['tcp:port=0:interface=127.0.0.1'], {
    lifespan: 'off',
    applicationCloseTimeout: 2_000,
  })
  const started = await server.start()
  const address = started.listeners[0]?.address
  tsUrl = `ws://127.0.0.1:${address && 'port' in address ? address.port : 0}`
  transcript.push(
    `redis-server ${redis.url}, daphne ${daphne.wsUrl} (Django + channels_redis 4.0), ` +
      `channels-ts ${tsUrl}`,
    `payload (tagged JSON): ${JSON.stringify(PAYLOAD)}`,
  )
})

afterAll(async () => {
  await server?.stop()
  await channelLayers.closeAll()
  if (previousSettings !== undefined) configureSettings(previousSettings)
  // Set by beforeAll, unless it failed part way.
  const started = [daphne as Daphne | undefined, redis as RedisServer | undefined]
  for (const service of started) await service?.stop()
  console.log(`Django interop transcript:\n${transcript.join('\n')}`)
})

beforeEach(async () => {
  await redis.cli('FLUSHALL')
})

describe.each([
  { layer: 'core', alias: 'core' },
  { layer: 'pubsub', alias: 'pubsub' },
  // channels_redis 4.0's RedisPubSubChannelLayer has no symmetric_encryption_keys (it ignores
  // unknown CONFIG keys), so encryption is a core-layer case only.
  { layer: 'core, encrypted', alias: 'core_encrypted' },
])('$layer layer: Django and channels-ts consumers on one Redis', ({ layer, alias }) => {
  it('each receives the other side’s group_send in chat_message, values equal', async () => {
    const [django, ts, group] = await pair(alias, alias)
    try {
      await showGroup(layer, alias, group, [django, ts])
      await groupSendAcross(layer, django, ts)
      await groupSendAcross(layer, ts, django)
    } finally {
      await Promise.all([django.close(), ts.close()])
    }
  })

  it('send to a specific channel works both ways', async () => {
    const [django, ts] = await pair(alias, alias)
    try {
      await sendAcross(layer, django, ts)
      await sendAcross(layer, ts, django)
    } finally {
      await Promise.all([django.close(), ts.close()])
    }
  })
})

describe('startDaphne', () => {
  it("fails with Django's error when the settings are bad", async () => {
    await expect(startDaphne({ REDIS_URL: redis.url, LAYER: 'nonsense' })).rejects.toThrow(
      /daphne on port \d+ exited[\s\S]*LAYER must be core or pubsub, not 'nonsense'/,
    )
  })
})

describe('core layer with different symmetric_encryption_keys', () => {
  it(
    'delivers nothing across; the receiving side logs the undecryptable message',
    { timeout: 60_000 },
    async () => {
      const logs = recordLogs()
      // Django on its own layer instance (same key and prefix as core_encrypted): see settings.py.
      const [django, ts] = await pair('core_encrypted_solo', 'core_wrong_key')
      const layer = 'core, wrong key'
      try {
        // Django (key A) → channels-ts (key B): our receive loop logs and skips it.
        django.send({ group_send: { ...PAYLOAD, from: 'django' } })
        await django.take((m) => m.done === 'group_send')
        await django.take(isChatMessage) // Django hears itself: the message was sent.
        expect(await ts.collect(isChatMessage, 1_000)).toEqual([])
        const errors = logs.records.filter((r) => r.level === 'error')
        expect(errors.map((r) => `${r.message} ${String(r.error)}`).join('\n')).toMatch(
          /InvalidToken/,
        )
        note(layer, django, 'group_send', ts, `nothing delivered; logged: ${errors[0]!.message}`)

        // channels-ts (key B) → Django (key A). Our loop survived: we still hear ourselves.
        ts.send({ group_send: { ...PAYLOAD, from: 'ts' } })
        await ts.take((m) => m.done === 'group_send')
        await ts.take(isChatMessage)
        expect(await django.collect(isChatMessage, 1_000)).toEqual([])
        // channels_redis raises InvalidToken out of receive(), which ends the Django consumer
        // (daphne logs the traceback and closes the socket with 1011).
        // daphne checks its applications once a second, so the close can take that long.
        await vi.waitFor(
          () => expect(daphne.output()).toMatch(/cryptography\.fernet\.InvalidToken/),
          { timeout: 20_000, interval: 50 },
        )
        // A hang guard, generous: on a loaded 2-core machine daphne's once-a-second check can lag.
        const timeout = new Promise((resolve) => setTimeout(() => resolve('still open'), 20_000))
        expect(await Promise.race([django.closed, timeout])).toBe(1011)
        note(
          layer,
          ts,
          'group_send',
          django,
          'nothing delivered; daphne logged InvalidToken and closed the socket with 1011',
        )
      } finally {
        logs.restore()
        await Promise.all([django.close(), ts.close()])
      }
    },
  )
})
