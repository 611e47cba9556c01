/**
 * The example project under `channels serve` on the Redis channel layers (channels_redis's core
 * and pub/sub layers, chosen by example/settings.ts from REDIS_URL and CHANNEL_LAYER_BACKEND),
 * against a real redis-server: a chat room split over two server processes delivers every
 * message to every member exactly once and in order per sender; a server started while Redis is
 * down serves what needs no layer, refuses chat joins cleanly and recovers once Redis is up;
 * `hosts` given as a string stops serve with channels_redis's message; SIGTERM closes the
 * layer's connections before the process exits.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  connect,
  ensureBuilt,
  handshakeStatus,
  httpGet,
  ROOT,
  spawnBin,
  type Client,
  type Spawned,
} from './helpers.js'
import { freePort } from '../helpers/free-port.js'
import { REDIS_CLI, startRedis, type RedisServer } from '../helpers/redis-server.js'

const EXAMPLE = join(ROOT, 'example')
const LISTENING = /Listening on TCP address 127\.0\.0\.1:(\d+)/
/**
 * The layers, and how many numbered messages each sender sends back to back. channels_redis's
 * core layer keeps one sorted set per process and drops a group message for a set already
 * holding `capacity` (default 100) messages ("N of M channels over capacity in group …", at
 * INFO): a burst of more than 100 group messages can lose some whenever a process reads more
 * slowly than the room sends, and so does Django with channels_redis (4.0) on two daphne
 * processes, which delivered 1500 of 2000 messages of this room with 50 per sender. So the core
 * layer gets 25 per sender, 100 in all, which its capacity holds even if nothing were read;
 * channels_redis's pub/sub layer keeps no queue in Redis and buffers without limit, and gets 50.
 */
const LAYERS = [
  { layer: 'core', backend: 'channels_redis.core.RedisChannelLayer', messages: 25 },
  { layer: 'pubsub', backend: 'channels_redis.pubsub.RedisPubSubChannelLayer', messages: 50 },
] as const
type Layer = (typeof LAYERS)[number]['layer']

/** Room members, split alternately over the two processes; the first SENDERS of them send. */
const MEMBERS = 10
const SENDERS = 4
/** Hang guard for a whole fan-out (it takes well under a second when things work). */
const DELIVERY_GUARD_MS = 10_000

let tmp: string
const cleanups: (() => unknown)[] = []

beforeAll(() => {
  ensureBuilt()
  tmp = mkdtempSync(join(tmpdir(), 'channels-e2e-redis-cluster-'))
}, 120_000)

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** Rejects with `what` if `promise` has not settled within `ms` (a hang guard, not a timing). */
function guard<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function redis(options: { port?: number } = {}): Promise<RedisServer> {
  const server = await startRedis(options)
  cleanups.push(() => server.stop('SIGKILL'))
  return server
}

/** The environment that makes example/settings.ts pick `layer` on `url`. */
function layerEnv(layer: Layer, url: string): Record<string, string> {
  return { REDIS_URL: url, CHANNEL_LAYER_BACKEND: layer }
}

/** `channels serve` of the example (or `cwd`) on a free port; resolves once it listens. */
async function serve(
  env: Record<string, string>,
  cwd = EXAMPLE,
): Promise<Spawned & { port: number }> {
  const server = spawnBin(['serve', '-b', '127.0.0.1', '-p', '0'], cwd, env)
  cleanups.push(() => server.stop('SIGKILL'))
  const match = await server.waitForOutput(LISTENING)
  const port = Number(match[1])
  servedOn.set(port, server)
  return Object.assign(server, { port })
}

/** The serve processes by port, for their output when a client fails. */
const servedOn = new Map<number, Spawned>()

/** Join the chat room `room` on `port`: the consumer has joined the group once it names the user. */
async function joinRoom(port: number, room: string): Promise<Client> {
  const client = await connect(port, `/ws/chat/${room}/`)
  cleanups.push(() => client.ws.terminate())
  const closed = new Promise<string>((resolve) =>
    client.ws.once('close', (code: number, reason: Buffer) =>
      resolve(`closed with ${String(code)} ${reason.toString()}`),
    ),
  )
  try {
    expect(await client.nextJson()).toEqual({ user: null })
  } catch (error) {
    // Rare under load: say how the socket ended and what the server logged.
    const how = await Promise.race([closed, new Promise((r) => setTimeout(r, 500, 'open'))])
    const output = servedOn.get(port)?.stderr() ?? '(no server output)'
    throw new Error(
      `joining ${room} on :${String(port)} failed (${String(how)}): ${String(error)}\n${output}`,
    )
  }
  return client
}

/** Redis's clients other than the redis-cli connection that listed them. */
function serverConnections(clientList: string): string[] {
  return clientList
    .split('\n')
    .filter((line) => line.trim() !== '' && !/ cmd=client\|list /.test(`${line} `))
}

for (const { layer, backend, messages: MESSAGES } of LAYERS) {
  describe(`the example on the ${layer} layer (${backend})`, () => {
    it(`${MEMBERS} members on two processes, ${SENDERS} senders × ${MESSAGES} messages each: every one arrives once, in order`, async () => {
      const server = await redis()
      const env = layerEnv(layer, server.url)
      const processes = [await serve(env), await serve(env)]
      const room = `cluster_${layer}`

      const members: { client: Client; process: number; got: Map<number, number[]> }[] = []
      for (let i = 0; i < MEMBERS; i++) {
        const which = i % 2
        const client = await joinRoom(processes[which]!.port, room)
        members.push({ client, process: which, got: new Map() })
      }
      // Every member has joined the group (connect() awaits groupAdd before accepting): from here
      // each one records what the room sends it.
      const stray: string[] = []
      const finished = members.map(
        (member, index) =>
          new Promise<void>((resolve) => {
            const last = new Set<number>()
            member.client.ws.on('message', (data: Buffer) => {
              const { message } = JSON.parse(data.toString()) as { message?: string }
              const parsed = /^s(\d+):(\d+)$/.exec(message ?? '')
              if (!parsed) {
                stray.push(`member ${index}: ${data.toString()}`)
                return
              }
              const [sender, n] = [Number(parsed[1]), Number(parsed[2])]
              const list = member.got.get(sender) ?? []
              list.push(n)
              member.got.set(sender, list)
              if (n === MESSAGES - 1) last.add(sender)
              if (last.size === SENDERS) resolve()
            })
          }),
      )
      // Senders 0 and 2 are on the first process, 1 and 3 on the second; each sends as fast as
      // the socket takes it.
      for (let s = 0; s < SENDERS; s++) {
        for (let n = 0; n < MESSAGES; n++) {
          members[s]!.client.ws.send(JSON.stringify({ message: `s${s}:${n}` }))
        }
      }
      // A missing last message ends the wait at the guard; the counts below say what came.
      await guard(Promise.all(finished), DELIVERY_GUARD_MS, 'the fan-out').catch(() => undefined)

      const expected = Array.from({ length: MESSAGES }, (_, n) => n)
      const problems: string[] = []
      let delivered = 0
      members.forEach((member, index) => {
        for (let s = 0; s < SENDERS; s++) {
          const got = member.got.get(s) ?? []
          delivered += got.length
          if (JSON.stringify(got) === JSON.stringify(expected)) continue
          const missing = expected.filter((n) => !got.includes(n))
          const duplicates = got.filter((n, i) => got.indexOf(n) !== i)
          const firstDisorder = got.findIndex((n, i) => i > 0 && n < got[i - 1]!)
          problems.push(
            `member ${index} (process ${member.process}) from sender ${s}: ${got.length} of ` +
              `${MESSAGES}, missing [${missing.join(',')}], duplicates [${duplicates.join(',')}]` +
              (firstDisorder >= 0 ? `, out of order at position ${firstDisorder}` : ''),
          )
        }
      })
      const total = MEMBERS * SENDERS * MESSAGES
      const logs = processes.map((p, i) => `process ${i} stderr:\n${p.stderr().slice(-3000)}`)
      expect(problems, `${delivered} of ${total} deliveries\n${logs.join('\n')}`).toEqual([])
      expect(stray, 'messages that are not numbered chat messages').toEqual([])
      expect(delivered).toBe(total)
      for (const p of processes) expect(p.child.exitCode).toBeNull()
    }, 30_000)

    it('Redis down at startup: pages work, a chat join is refused and logged, then works once Redis is up', async () => {
      const port = await freePort()
      const url = `redis://127.0.0.1:${port}`
      const server = await serve(layerEnv(layer, url))

      const index = await httpGet(server.port, '/')
      expect(index.status).toBe(200)
      expect(index.body).toContain('Chat rooms')

      // The consumer's groupAdd fails before it accepts: the handshake is refused, not left open.
      const status = await guard(
        handshakeStatus(server.port, '/ws/chat/down/', `http://127.0.0.1:${server.port}`),
        15_000,
        'a chat join while Redis is down',
      )
      expect(status).toBe(500)
      await server.waitForOutput(
        new RegExp(`RedisConnectionError: Cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: `),
      )
      expect(server.child.exitCode).toBeNull()
      expect((await httpGet(server.port, '/')).status).toBe(200)

      // Redis comes up on that port: the same server process now chats.
      await redis({ port })
      const a = await joinRoom(server.port, 'up')
      const b = await joinRoom(server.port, 'up')
      b.ws.send(JSON.stringify({ message: 'Redis is back' }))
      expect(await a.nextJson()).toEqual({ message: 'Redis is back', user: null })
      expect(await b.nextJson()).toEqual({ message: 'Redis is back', user: null })
      expect(server.child.exitCode).toBeNull()
    })

    it("hosts given as a string: serve exits 1 with channels_redis's message, no stack trace", async () => {
      // A copy of the example whose settings pass REDIS_URL itself rather than [REDIS_URL].
      const project = mkdtempSync(join(tmp, `bad-hosts-${layer}-`))
      cpSync(EXAMPLE, project, {
        recursive: true,
        filter: (source) => !/[\\/](node_modules|db\.sqlite3[^\\/]*)$/.test(source),
      })
      const settingsFile = join(project, 'settings.ts')
      const settings = readFileSync(settingsFile, 'utf8')
      const bad = settings.replace('CONFIG: { hosts: [REDIS_URL] }', 'CONFIG: { hosts: REDIS_URL }')
      expect(bad, 'example/settings.ts no longer has CONFIG: { hosts: [REDIS_URL] }').not.toBe(
        settings,
      )
      writeFileSync(settingsFile, bad)

      const server = spawnBin(['serve', '-b', '127.0.0.1', '-p', '0'], project, {
        ...layerEnv(layer, 'redis://127.0.0.1:6379'),
      })
      cleanups.push(() => server.stop('SIGKILL'))
      const code = await guard(server.exited, 20_000, 'serve with hosts as a string')
      expect(code).toBe(1)
      const message =
        layer === 'core'
          ? 'You must pass a list of Redis hosts, even if there is only one.'
          : '`hosts` must be a list with at least one Redis server'
      expect(server.stderr()).toContain(message)
      expect(server.stderr()).not.toMatch(/^\s+at /m)
      expect(server.stderr()).not.toContain('Starting server')
      expect(server.stdout()).toBe('')
    })

    it('SIGTERM with open chats: exit 0, and the layer closed its Redis connections before exiting', async () => {
      const server = await redis()
      // What Redis sees at the moment the process exits: the CLI ends with process.exit, after
      // which the kernel would close any socket anyway, so only a listing taken inside process.exit
      // tells a closed layer from a leaked one.
      const preload = join(tmp, `exit-client-list-${layer}.mjs`)
      writeFileSync(
        preload,
        `import { execFileSync } from 'node:child_process'
const exit = process.exit
process.exit = function (code) {
  let list
  try {
    list = execFileSync(${JSON.stringify(REDIS_CLI)}, ['-p', '${server.port}', 'CLIENT', 'LIST'], { encoding: 'utf8' })
  } catch (error) {
    list = 'redis-cli failed: ' + error.message + '\\n'
  }
  process.stderr.write('CLIENT LIST AT EXIT\\n' + list + 'END CLIENT LIST\\n')
  return exit.call(process, code)
}
`,
      )
      const serverProcess = await serve({
        ...layerEnv(layer, server.url),
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
      })
      const clients: Client[] = []
      for (let i = 0; i < 4; i++) clients.push(await joinRoom(serverProcess.port, 'shutdown'))
      const closeCodes = clients.map(
        (c) =>
          new Promise<number>((resolve) => c.ws.once('close', (code: number) => resolve(code))),
      )
      clients[0]!.ws.send(JSON.stringify({ message: 'before the stop' }))
      for (const c of clients)
        expect(await c.nextJson()).toMatchObject({ message: 'before the stop' })
      const before = serverConnections(await server.cli('CLIENT', 'LIST'))
      expect(before, 'the server holds Redis connections while it runs').not.toEqual([])

      const code = await guard(serverProcess.stop('SIGTERM'), 15_000, 'serve after SIGTERM')
      expect(code).toBe(0)
      expect(await Promise.all(closeCodes)).toEqual(clients.map(() => 1001))

      const atExit = /CLIENT LIST AT EXIT\n([^]*?)END CLIENT LIST\n/.exec(serverProcess.stderr())
      expect(atExit, `no listing at exit in stderr:\n${serverProcess.stderr()}`).not.toBeNull()
      expect(serverConnections(atExit![1]!), 'connections still open at process.exit').toEqual([])
      expect(serverConnections(await server.cli('CLIENT', 'LIST'))).toEqual([])
    })
  })
}
