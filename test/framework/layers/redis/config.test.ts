// The Redis layers' CONFIG, checked when the layer is built, with channels_redis's own messages
// (read from the installed channels_redis, run under /usr/bin/python3), both through the
// constructors and through CHANNEL_LAYERS settings; and the kinds of `hosts` against real
// redis-servers: a unix socket, two shards placed as channels_redis places them, a Sentinel.
import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ValueError } from '../../../../src/framework/asgi/errors.js'
import { getChannelLayer } from '../../../../src/framework/layers/registry.js'
import { consistentHash } from '../../../../src/framework/layers/redis/config.js'
import { RedisChannelLayer } from '../../../../src/framework/layers/redis/core.js'
import { RedisPubSubChannelLayer } from '../../../../src/framework/layers/redis/pubsub.js'
import { configureSettings } from '../../../../src/framework/settings/settings.js'
import { nonLocalName } from '../../../../src/framework/layers/validation.js'
import { startRedis, type RedisServer } from '../../../helpers/redis-server.js'

const run = promisify(execFile)

/**
 * For each case, what channels_redis does with the same keyword arguments: an error when the
 * layer is built ('init'), one at the first send ('use', only asked when `use` is set: the
 * other configs would try to connect), or nothing ('none').
 */
const PYTHON = String.raw`
import asyncio, json, sys
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

cases = json.load(sys.stdin)
out = []
for case in cases:
    cls = RedisChannelLayer if case["layer"] == "core" else RedisPubSubChannelLayer
    try:
        layer = cls(**case["kwargs"])
    except Exception as e:
        out.append({"stage": "init", "type": type(e).__name__, "message": str(e)})
        continue
    if not case.get("use"):
        out.append({"stage": "none"})
        continue
    async def use():
        await layer.send("x", {"type": "a"})
    try:
        asyncio.run(use())
        out.append({"stage": "none"})
    except Exception as e:
        out.append({"stage": "use", "type": type(e).__name__, "message": str(e)})
json.dump(out, sys.stdout)
`

type Layer = 'core' | 'pubsub'
interface Case {
  name: string
  layer: Layer
  kwargs: Record<string, unknown>
  use?: boolean
}
interface PythonOutcome {
  stage: 'init' | 'use' | 'none'
  type?: string
  message?: string
}

const BAD_URLS = ['http://x', 'redis://:notaport', 'redis://localhost:99999']

const CASES: Case[] = [
  ...(['core', 'pubsub'] as const).flatMap((layer): Case[] => [
    { name: 'hosts string', layer, kwargs: { hosts: 'redis://127.0.0.1:6379' }, use: true },
    { name: 'unknown key', layer, kwargs: { hosts: ['redis://127.0.0.1:1'], bogus: 1 } },
    { name: 'prefix not a string', layer, kwargs: { prefix: 5 } },
    ...BAD_URLS.map((url) => ({ name: `url ${url}`, layer, kwargs: { hosts: [url] }, use: true })),
  ]),
  { name: 'keys as a string', layer: 'core', kwargs: { symmetric_encryption_keys: 'secret' } },
  { name: 'keys of a number', layer: 'core', kwargs: { symmetric_encryption_keys: [123] } },
  { name: 'keys on pub/sub', layer: 'pubsub', kwargs: { symmetric_encryption_keys: ['k'] } },
]

/** Run a Python script with `input` as JSON on stdin; its stdout parsed as JSON. */
async function py<T>(script: string, input: unknown): Promise<T> {
  const child = run('/usr/bin/python3', ['-c', script], { timeout: 15_000 })
  child.child.stdin!.end(JSON.stringify(input))
  const { stdout } = await child.catch((error: unknown) => {
    throw new Error(`python3 failed: ${(error as { stderr?: string }).stderr ?? String(error)}`)
  })
  return JSON.parse(stdout) as T
}

let python: Map<string, PythonOutcome>

beforeAll(async () => {
  const outcomes = await py<PythonOutcome[]>(PYTHON, CASES)
  python = new Map(CASES.map((c, i) => [`${c.layer} ${c.name}`, outcomes[i]!]))
})

afterEach(() => {
  configureSettings({})
})

const BACKENDS: Record<Layer, string> = {
  core: 'channels_redis.core.RedisChannelLayer',
  pubsub: 'channels_redis.pubsub.RedisPubSubChannelLayer',
}

function build(layer: Layer, config: Record<string, unknown>) {
  return layer === 'core' ? new RedisChannelLayer(config) : new RedisPubSubChannelLayer(config)
}

/** The error building the layer throws, both directly and through settings (the same one). */
function constructionError(layer: Layer, config: Record<string, unknown>): Error {
  let direct: unknown
  try {
    build(layer, config)
  } catch (error) {
    direct = error
  }
  configureSettings({ CHANNEL_LAYERS: { default: { BACKEND: BACKENDS[layer], CONFIG: config } } })
  let viaSettings: unknown
  try {
    getChannelLayer()
  } catch (error) {
    viaSettings = error
  }
  expect(direct, 'the constructor throws').toBeInstanceOf(Error)
  expect(viaSettings, 'getChannelLayer() throws').toBeInstanceOf(Error)
  expect((viaSettings as Error).constructor).toBe((direct as Error).constructor)
  expect((viaSettings as Error).message).toBe((direct as Error).message)
  return direct as Error
}

function pythonSays(layer: Layer, name: string): PythonOutcome {
  const outcome = python.get(`${layer} ${name}`)
  if (outcome === undefined) throw new Error(`no Python case ${layer} ${name}`)
  return outcome
}

describe('invalid CONFIG fails when the layer is built, with channels_redis’s words', () => {
  it('core: hosts as a string: ValueError, the same text', () => {
    const py = pythonSays('core', 'hosts string')
    expect(py).toMatchObject({ stage: 'init', type: 'ValueError' })
    const error = constructionError('core', { hosts: 'redis://127.0.0.1:6379' })
    expect(error).toBeInstanceOf(ValueError)
    expect(error.message).toBe(py.message)
  })

  it('pub/sub: hosts as a string: the pub/sub layer’s own text (raised on first use there)', () => {
    const py = pythonSays('pubsub', 'hosts string')
    expect(py).toMatchObject({ stage: 'use', type: 'AssertionError' })
    const error = constructionError('pubsub', { hosts: 'redis://127.0.0.1:6379' })
    expect(error).toBeInstanceOf(ValueError)
    expect(error.message).toBe(py.message)
  })

  it('core: an unknown key: TypeError, Python’s unexpected-keyword text', () => {
    const py = pythonSays('core', 'unknown key')
    expect(py).toMatchObject({ stage: 'init', type: 'TypeError' })
    const error = constructionError('core', { hosts: ['redis://127.0.0.1:1'], bogus: 1 })
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe(py.message)
  })

  it('pub/sub: an unknown key is refused here (channels_redis swallows it in **kwargs)', () => {
    expect(pythonSays('pubsub', 'unknown key').stage).toBe('none')
    const error = constructionError('pubsub', { hosts: ['redis://127.0.0.1:1'], bogus: 1 })
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe(
      "RedisPubSubChannelLayer.__init__() got an unexpected keyword argument 'bogus'",
    )
  })

  it('core: a prefix that is not a string: channels_redis’s assertion text', () => {
    const py = pythonSays('core', 'prefix not a string')
    expect(py).toMatchObject({ stage: 'init', type: 'AssertionError' })
    expect(constructionError('core', { prefix: 5 }).message).toBe(py.message)
    // channels_redis's pub/sub layer does not check it; the same text here.
    expect(pythonSays('pubsub', 'prefix not a string').stage).toBe('none')
    expect(constructionError('pubsub', { prefix: 5 }).message).toBe(py.message)
  })

  for (const url of BAD_URLS) {
    for (const layer of ['core', 'pubsub'] as const) {
      it(`${layer}: hosts [${JSON.stringify(url)}]: redis-py’s text, at construction instead of first use`, () => {
        const py = pythonSays(layer, `url ${url}`)
        expect(py).toMatchObject({ stage: 'use', type: 'ValueError' })
        const error = constructionError(layer, { hosts: [url] })
        expect(error).toBeInstanceOf(ValueError)
        expect(error.message).toContain(py.message)
        expect(error.message).toContain('hosts[0]')
      })
    }
  }

  it('core: symmetric_encryption_keys as a string: the same ValueError', () => {
    const py = pythonSays('core', 'keys as a string')
    expect(py).toMatchObject({ stage: 'init', type: 'ValueError' })
    const error = constructionError('core', { symmetric_encryption_keys: 'secret' })
    expect(error).toBeInstanceOf(ValueError)
    expect(error.message).toBe(py.message)
  })

  it('core: a key that is not text or bytes: refused, naming the entry', () => {
    // Python fails inside hashlib with a message that does not name the setting.
    expect(pythonSays('core', 'keys of a number')).toMatchObject({ stage: 'init' })
    const error = constructionError('core', { symmetric_encryption_keys: [123] })
    expect(error.message).toBe('symmetric_encryption_keys[0] must be a string or bytes')
  })

  it('core: an empty key is refused, naming the entry (channels_redis derives a key from it)', () => {
    for (const empty of ['', Buffer.alloc(0)]) {
      const error = constructionError('core', { symmetric_encryption_keys: ['good', empty] })
      expect(error).toBeInstanceOf(ValueError)
      expect(error.message).toBe('symmetric_encryption_keys[1] is empty')
    }
  })

  it('pub/sub: symmetric_encryption_keys is refused (channels_redis ignores it silently)', () => {
    expect(pythonSays('pubsub', 'keys on pub/sub').stage).toBe('none')
    const error = constructionError('pubsub', { symmetric_encryption_keys: ['k'] })
    expect(error).toBeInstanceOf(ValueError)
    expect(error.message).toMatch(/pub\/sub layer does not encrypt/)
  })

  it('a valid config builds without touching Redis (nothing listens on port 1)', async () => {
    for (const layer of ['core', 'pubsub'] as const) {
      const built = build(layer, { hosts: ['redis://127.0.0.1:1'] })
      await built.close()
    }
  })
})

/** channels_redis's `_consistent_hash` of each name for each ring size. */
const PY_HASH = String.raw`
import json, sys
from channels_redis.utils import _consistent_hash
task = json.load(sys.stdin)
json.dump([[_consistent_hash(n, r) for r in task["rings"]] for n in task["names"]], sys.stdout)
`

describe('sharding: consistentHash is channels_redis’s _consistent_hash', () => {
  it('gives the same index as Python for 300 names on rings of 1 to 16 hosts', async () => {
    const rings = [1, 2, 3, 4, 5, 7, 16]
    const names = [
      'chat',
      'asgi__group__chat',
      'specific.0123456789abcdef0123456789abcdef!',
      'héllo wörld ✓ 𝄞',
      '',
      ...Array.from({ length: 295 }, (_, i) => `group-${i}.${(i * 7919).toString(36)}`),
    ]
    const expected = await py<number[][]>(PY_HASH, { names, rings })
    const actual = names.map((name) => rings.map((ring) => consistentHash(name, ring)))
    expect(actual).toEqual(expected)
    // Both indexes occur on two hosts, so the placement tests below can tell them apart.
    expect(new Set(actual.map((row) => row[1]))).toEqual(new Set([0, 1]))
  })
})

/** The number of entries of a sorted set on one server ("0" when the key does not exist). */
async function zcard(redis: RedisServer, key: string): Promise<number> {
  return Number(await redis.cli('ZCARD', key))
}

/** The CLIENT LIST lines of a server, without the one redis-cli itself holds. */
async function clients(redis: RedisServer): Promise<string[]> {
  const list = await redis.cli('CLIENT', 'LIST')
  return list.split('\n').filter((line) => line !== '' && !/ cmd=client\|list /.test(line))
}

describe('two hosts: every key lands on the host channels_redis would pick', () => {
  let shards: [RedisServer, RedisServer]

  beforeAll(async () => {
    shards = [await startRedis(), await startRedis()]
  })

  afterAll(async () => {
    await Promise.all(shards.map((s) => s.stop()))
  })

  it('core: group keys by hash(group), messages by hash(non-local name), as Python computes', async () => {
    const layer = new RedisChannelLayer({ hosts: shards.map((s) => s.url) })
    try {
      const mine = layer.newChannelNow()
      const groups = Array.from({ length: 8 }, (_, i) => `shard-group-${i}`)
      const normal = Array.from({ length: 8 }, (_, i) => `shard-normal-${i}`)
      const [groupIndexes, normalIndexes, [processIndex]] = await Promise.all([
        py<number[][]>(PY_HASH, { names: groups, rings: [2] }),
        py<number[][]>(PY_HASH, { names: normal, rings: [2] }),
        py<number[][]>(PY_HASH, { names: [nonLocalName(mine)], rings: [2] }),
      ])
      for (const group of groups) await layer.groupAdd(group, mine)
      for (const [i, group] of groups.entries()) {
        const host = groupIndexes[i]![0]!
        expect(await zcard(shards[host]!, `asgi:group:${group}`)).toBe(1)
        expect(await zcard(shards[1 - host]!, `asgi:group:${group}`)).toBe(0)
      }
      // A group of normal channels: one message per channel, on hash(channel)'s host.
      for (const channel of normal) await layer.groupAdd('shard-normals', channel)
      // groupSend returns once its commands are queued on a live connection (write-behind), so
      // the stores are waited for.
      await layer.groupSend('shard-normals', { type: 'to.normal' })
      await vi.waitFor(
        async () => {
          for (const [i, channel] of normal.entries()) {
            const host = normalIndexes[i]![0]!
            expect(await zcard(shards[host]!, `asgi${channel}`)).toBe(1)
            expect(await zcard(shards[1 - host]!, `asgi${channel}`)).toBe(0)
          }
        },
        { timeout: 5_000, interval: 20 },
      )
      // A send to a channel of this process: its shared key, on hash(non-local name)'s host.
      await layer.send(mine, { type: 'to.mine' })
      const processKey = `asgi${nonLocalName(mine)}`
      expect(await zcard(shards[processIndex![0]!]!, processKey)).toBe(1)
      expect(await zcard(shards[1 - processIndex![0]!]!, processKey)).toBe(0)
      expect(await layer.receive(mine)).toEqual({ type: 'to.mine' })
      // A plain send to a normal channel goes round-robin, as in channels_redis.
      await layer.send('round-robin', { type: 'a' })
      await layer.send('round-robin', { type: 'b' })
      expect([
        await zcard(shards[0], 'asgiround-robin'),
        await zcard(shards[1], 'asgiround-robin'),
      ]).toEqual([1, 1])
    } finally {
      await layer.flush()
      await layer.close()
    }
  })

  it('core: what channels_redis itself sends to our channel over two hosts arrives', async () => {
    // channels_redis 4.0 places send() to a specific channel on hash(FULL name) but group_send on
    // hash(non-local name); this layer reads its key on every host, so both arrive.
    const layer = new RedisChannelLayer({ hosts: shards.map((s) => s.url) })
    try {
      const mine = layer.newChannelNow()
      const script = String.raw`
import asyncio, json, sys
from channels_redis.core import RedisChannelLayer
from channels_redis.utils import _consistent_hash
task = json.load(sys.stdin)
async def main():
    layer = RedisChannelLayer(hosts=task["hosts"])
    await layer.send(task["channel"], {"type": "from.python.send"})
    await layer.group_add("py-group", task["channel"])
    await layer.group_send("py-group", {"type": "from.python.group"})
    await layer.close_pools()
asyncio.run(main())
json.dump({"send": _consistent_hash(task["channel"], 2),
           "group_send": _consistent_hash(task["channel"].split("!")[0] + "!", 2)}, sys.stdout)
`
      const where = await py<{ send: number; group_send: number }>(script, {
        hosts: shards.map((s) => s.url),
        channel: mine,
      })
      const processKey = `asgi${nonLocalName(mine)}`
      const stored = [await zcard(shards[0], processKey), await zcard(shards[1], processKey)]
      const expected = [0, 0]
      expected[where.send]!++
      expected[where.group_send]!++
      expect(stored).toEqual(expected)
      const received = [await layer.receive(mine), await layer.receive(mine)]
      expect(received.map((m) => m.type).sort()).toEqual(['from.python.group', 'from.python.send'])
    } finally {
      await layer.flush()
      await layer.close()
    }
  })

  it('pub/sub: channels and group channels are subscribed and published on hash(name)’s host', async () => {
    const layer = new RedisPubSubChannelLayer({ hosts: shards.map((s) => s.url) })
    try {
      const channels = await Promise.all(Array.from({ length: 6 }, () => layer.newChannel()))
      const groups = Array.from({ length: 6 }, (_, i) => `ps-shard-${i}`)
      for (const [i, group] of groups.entries()) await layer.groupAdd(group, channels[i]!)
      const names = [...channels, ...groups.map((g) => `asgi__group__${g}`)]
      const indexes = await py<number[][]>(PY_HASH, { names, rings: [2] })
      for (const [i, name] of names.entries()) {
        const host = indexes[i]![0]!
        expect(await shards[host]!.cli('PUBSUB', 'NUMSUB', name)).toBe(`${name}\n1`)
        expect(await shards[1 - host]!.cli('PUBSUB', 'NUMSUB', name)).toBe(`${name}\n0`)
      }
      for (const [i, group] of groups.entries()) {
        await layer.groupSend(group, { type: 'g', i })
        expect(await layer.receive(channels[i]!)).toEqual({ type: 'g', i })
        await layer.send(channels[i]!, { type: 'c', i })
        expect(await layer.receive(channels[i]!)).toEqual({ type: 'c', i })
      }
    } finally {
      await layer.close()
    }
  })
})

describe('unix socket hosts', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis({ unixSocket: true })
  })

  afterAll(async () => {
    await redis.stop()
  })

  it('core: send, receive and a group over unix://, on the db the URL names', async () => {
    const layer = new RedisChannelLayer({ hosts: [`${redis.unixUrl!}?db=3`] })
    try {
      const mine = layer.newChannelNow()
      await layer.send('unix-normal', { type: 'plain' })
      expect(await redis.cli('-n', '3', 'ZCARD', 'asgiunix-normal')).toBe('1')
      expect(await redis.cli('-n', '0', 'EXISTS', 'asgiunix-normal')).toBe('0')
      expect(await layer.receive('unix-normal')).toEqual({ type: 'plain' })
      await layer.groupAdd('unix-group', mine)
      await layer.groupSend('unix-group', { type: 'grouped' })
      expect(await layer.receive(mine)).toEqual({ type: 'grouped' })
      const ours = await clients(redis)
      expect(ours.length).toBeGreaterThan(0)
      for (const line of ours) expect(line).toContain(`addr=${redis.socketPath!}:0`)
    } finally {
      await layer.flush()
      await layer.close()
    }
  })

  it('pub/sub: a channel and a group over unix://', async () => {
    const layer = new RedisPubSubChannelLayer({ hosts: [redis.unixUrl!] })
    try {
      const mine = await layer.newChannel()
      await layer.send(mine, { type: 'direct' })
      expect(await layer.receive(mine)).toEqual({ type: 'direct' })
      await layer.groupAdd('unix-group', mine)
      await layer.groupSend('unix-group', { type: 'grouped' })
      expect(await layer.receive(mine)).toEqual({ type: 'grouped' })
      const ours = await clients(redis)
      expect(ours.length).toBeGreaterThanOrEqual(2)
      for (const line of ours) expect(line).toContain(`addr=${redis.socketPath!}:0`)
    } finally {
      await layer.close()
    }
  })
})

describe('a Sentinel-managed master', () => {
  let master: RedisServer
  let sentinel: RedisServer
  let dir: string

  beforeAll(async () => {
    master = await startRedis()
    dir = mkdtempSync(join(tmpdir(), 'channels-ts-sentinel-'))
    const conf = join(dir, 'sentinel.conf')
    writeFileSync(conf, `sentinel monitor testmaster 127.0.0.1 ${master.port} 1\n`)
    // startRedis runs this "binary" with its usual arguments: it starts redis-server in sentinel
    // mode on that config. Sentinel logs no "Ready to accept connections", which startRedis
    // waits for (besides PING), so the wrapper writes that line first.
    const wrapper = join(dir, 'sentinel.sh')
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        'prev=; for a in "$@"; do [ "$prev" = --logfile ] && log="$a"; prev="$a"; done',
        'echo "sentinel wrapper: Ready to accept connections" >> "$log"',
        `exec /usr/bin/redis-server '${conf}' --sentinel "$@"`,
        '',
      ].join('\n'),
    )
    chmodSync(wrapper, 0o755)
    sentinel = await startRedis({ binary: wrapper })
  })

  afterAll(async () => {
    // Either may be missing when beforeAll failed half way.
    await (sentinel as RedisServer | undefined)?.stop()
    await (master as RedisServer | undefined)?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const hosts = () => [{ sentinels: [['127.0.0.1', sentinel.port]], master_name: 'testmaster' }]

  it('the sentinel knows the master (the setup the next tests rely on)', async () => {
    expect(await sentinel.cli('SENTINEL', 'get-master-addr-by-name', 'testmaster')).toBe(
      `127.0.0.1\n${master.port}`,
    )
  })

  it('core: send, receive and groups go to the master the sentinel names', async () => {
    const layer = new RedisChannelLayer({ hosts: hosts() })
    try {
      const mine = layer.newChannelNow()
      await layer.send('via-sentinel', { type: 'plain' })
      expect(await zcard(master, 'asgivia-sentinel')).toBe(1)
      expect(await layer.receive('via-sentinel')).toEqual({ type: 'plain' })
      await layer.groupAdd('sentinel-group', mine)
      expect(await zcard(master, 'asgi:group:sentinel-group')).toBe(1)
      await layer.groupSend('sentinel-group', { type: 'grouped' })
      expect(await layer.receive(mine)).toEqual({ type: 'grouped' })
    } finally {
      await layer.flush()
      await layer.close()
    }
  })

  it('pub/sub: subscribe and publish on the master the sentinel names', async () => {
    const layer = new RedisPubSubChannelLayer({ hosts: hosts() })
    try {
      const mine = await layer.newChannel()
      expect(await master.cli('PUBSUB', 'NUMSUB', mine)).toBe(`${mine}\n1`)
      await layer.send(mine, { type: 'direct' })
      expect(await layer.receive(mine)).toEqual({ type: 'direct' })
      await layer.groupAdd('sentinel-group', mine)
      await layer.groupSend('sentinel-group', { type: 'grouped' })
      expect(await layer.receive(mine)).toEqual({ type: 'grouped' })
    } finally {
      await layer.close()
    }
  })

  it('a master name the sentinel does not know: RedisConnectionError naming it', async () => {
    const layer = new RedisChannelLayer({
      hosts: [{ sentinels: [['127.0.0.1', sentinel.port]], master_name: 'nosuchmaster' }],
    })
    try {
      await expect(layer.send('x', { type: 'a' })).rejects.toThrow(
        `Cannot reach Redis at sentinel master 'nosuchmaster' via 127.0.0.1:${sentinel.port}: ` +
          `no master found (127.0.0.1:${sentinel.port} does not know it)`,
      )
    } finally {
      await layer.close()
    }
  })
})
