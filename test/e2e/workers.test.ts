/**
 * `channels serve --workers N` through the built binary, over real sockets: the workers share one
 * port (uWS: SO_REUSEPORT; node: the cluster primary's socket) and every client lands on one of
 * them, as its first message, its access-log line and the `[worker N]` prefix agree; a worker
 * killed with SIGKILL is restarted while the others keep serving; SIGTERM drains every worker
 * (1001 to every client) and the supervisor exits 0; the example's chat room split over workers
 * delivers every message through Redis; a second SIGTERM kills workers still draining; a restart
 * that keeps failing backs off; what must be refused is refused once, with its message: an
 * in-memory channel layer, a busy port (also one held with SO_REUSEPORT), a unix socket, a worker
 * 1 that cannot start; an inherited `fd:` socket is shared on the node reactor; and a supervisor
 * started by npm stops its workers gracefully when its parent shell dies.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { BIN, connect, ensureBuilt, ROOT, spawnBin, type Client, type Spawned } from './helpers.js'
import { freePort } from '../helpers/free-port.js'
import { startRedis } from '../helpers/redis-server.js'
import { REACTORS } from '../helpers/with-server.js'

const EXAMPLE = join(ROOT, 'example')
const ALL_LISTENING = /All (\d+) workers are listening/
const LISTENING = /Listening on TCP address 127\.0\.0\.1:(\d+)/
/** Hang guard for one wait; nothing here measures time. */
const GUARD_MS = 20_000

/**
 * A raw ASGI app that says which worker runs it: the first WebSocket message and the `x-worker`
 * response header are CHANNELS_WORKER_ID. Workers named in REFUSE_WORKERS fail at import; with
 * HANG_ON_DISCONNECT a WebSocket's app never ends after its disconnect.
 */
const WORKER_APP = `
const id = process.env.CHANNELS_WORKER_ID ?? 'none'
if ((process.env.REFUSE_WORKERS ?? '').split(',').includes(id)) {
  throw new Error('worker ' + id + ' refuses to start')
}
const bytes = (text) => new TextEncoder().encode(text)
export async function application(scope, receive, send) {
  if (scope.type === 'lifespan') {
    for (;;) {
      const message = await receive()
      if (message.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' })
      else return send({ type: 'lifespan.shutdown.complete' })
    }
  }
  if (scope.type === 'http') {
    await receive()
    await send({ type: 'http.response.start', status: 200, headers: [[bytes('x-worker'), bytes(id)]] })
    return send({ type: 'http.response.body', body: bytes('worker ' + id) })
  }
  for (;;) {
    const message = await receive()
    if (message.type === 'websocket.connect') {
      await send({ type: 'websocket.accept' })
      await send({ type: 'websocket.send', text: 'worker ' + id })
    } else if (message.type === 'websocket.receive') {
      await send({ type: 'websocket.send', text: message.text })
    } else if (process.env.HANG_ON_DISCONNECT) {
      await new Promise(() => {})
    } else return
  }
}
`

let project: string
const cleanups: (() => unknown)[] = []

beforeAll(() => {
  ensureBuilt()
  project = mkdtempSync(join(tmpdir(), 'channels-e2e-workers-'))
  writeFileSync(join(project, 'app.ts'), WORKER_APP)
}, 120_000)

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

afterAll(() => rmSync(project, { recursive: true, force: true }))

/** Rejects with `what` if `promise` has not settled within GUARD_MS (a hang guard, not a timing). */
function guard<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${GUARD_MS} ms`)), GUARD_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The exit code once the process exited and its output is all read ('exit' may come first). */
function closed(server: Spawned): Promise<number | null> {
  const { child } = server
  if (child.stdout?.closed && child.stderr?.closed) return server.exited
  return new Promise((resolve) => child.once('close', (code: number | null) => resolve(code)))
}

/** Every pid the supervisor logged for a worker, so cleanup can reach a worker it orphaned. */
function workerPids(output: string): Map<number, number[]> {
  const pids = new Map<number, number[]>()
  for (const [, id, pid] of output.matchAll(/Worker (\d+) started \(pid (\d+)\)/g)) {
    pids.set(Number(id), [...(pids.get(Number(id)) ?? []), Number(pid)])
  }
  return pids
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** SIGKILL the supervisor and whatever worker it left (none when things work). */
function killAll(output: () => string, supervisor: ChildProcess): void {
  supervisor.kill('SIGKILL')
  for (const pids of workerPids(output()).values()) {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
  }
}

/** `channels serve --workers N …` in `cwd`; resolves once every worker listens. */
async function serveWorkers(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; cleanups?: (() => unknown)[] } = {},
): Promise<Spawned & { port: number }> {
  const server = spawnBin(['serve', '-b', '127.0.0.1', ...args], options.cwd ?? project, {
    ...options.env,
  })
  ;(options.cleanups ?? cleanups).push(() =>
    killAll(() => server.stdout() + server.stderr(), server.child),
  )
  await server.waitForOutput(ALL_LISTENING, GUARD_MS)
  const port = Number((await server.waitForOutput(LISTENING))[1])
  return Object.assign(server, { port })
}

/** A client of WORKER_APP: `worker` is the id its first message named. */
interface WorkerClient extends Client {
  worker: number
  closeCode: Promise<number>
}

async function workerClient(
  port: number,
  cleanupList: (() => unknown)[] = cleanups,
): Promise<WorkerClient> {
  const client = await connect(port, '/ws/', null)
  cleanupList.push(() => client.ws.terminate())
  const closeCode = new Promise<number>((resolve) => client.ws.once('close', resolve))
  const hello = await client.next()
  const worker = Number(/^worker (\d+)$/.exec(hello)?.[1])
  expect(worker, hello).toBeGreaterThan(0)
  return Object.assign(client, { worker, closeCode })
}

/** The access log's WebSocket connects per worker (`[worker N] … "WSCONNECT /ws/"`). */
function connectsPerWorker(stdout: string): Map<number, number> {
  const counts = new Map<number, number>()
  for (const [, id] of stdout.matchAll(
    /^\[worker (\d+)\] \S+ - - \[[^\]]+\] "WSCONNECT \/ws\/"/gm,
  )) {
    counts.set(Number(id), (counts.get(Number(id)) ?? 0) + 1)
  }
  return counts
}

function tally(clients: readonly WorkerClient[]): Map<number, number> {
  const counts = new Map<number, number>()
  for (const { worker } of clients) counts.set(worker, (counts.get(worker) ?? 0) + 1)
  return counts
}

async function echoes(client: Client, text: string): Promise<void> {
  client.ws.send(text)
  expect(await client.next()).toBe(text)
}

describe.each(REACTORS)('three workers on the %s reactor', (reactor) => {
  let server: Spawned & { port: number }
  let clients: WorkerClient[] = []
  /** The server and its clients live through the three tests below, in order. */
  const suiteCleanups: (() => unknown)[] = []
  const client = () => workerClient(server.port, suiteCleanups)

  beforeAll(async () => {
    const args = ['app.ts:application', '-p', '0', '--workers', '3', '--reactor', reactor]
    server = await serveWorkers(args, { cleanups: suiteCleanups })
  }, 60_000)

  afterAll(async () => {
    for (const cleanup of suiteCleanups.splice(0).reverse()) await cleanup()
  })

  it('60 WebSocket clients on one port land on all three workers, as the access log says', async () => {
    // Connected a few at a time, as clients arrive: a burst of 60 at once would let the node
    // reactor's round-robin hand most of them to whichever worker is free first.
    for (let i = 0; i < 60; i += 6) {
      clients.push(...(await Promise.all(Array.from({ length: 6 }, client))))
    }
    const perWorker = tally(clients)
    expect([...perWorker.keys()].sort()).toEqual([1, 2, 3])
    await Promise.all(clients.map((client, i) => echoes(client, `hello ${i}`)))
    // Each worker logged its own connects, prefixed with its id: the same split.
    await vi.waitFor(() => expect(connectsPerWorker(server.stdout())).toEqual(perWorker), {
      timeout: GUARD_MS,
    })
    // Startup lines name their worker too; the supervisor's own lines carry no prefix.
    for (const id of [1, 2, 3]) {
      expect(server.stderr()).toMatch(
        new RegExp(
          `^\\[worker ${id}\\] .*Listening on TCP address 127\\.0\\.0\\.1:${server.port}$`,
          'm',
        ),
      )
    }
    expect(server.stderr()).toMatch(/^\S+ \S+ INFO +Supervisor \(pid \d+\) starting 3 workers$/m)
  })

  it('SIGKILL of worker 2: its clients drop, the others keep serving, the supervisor starts it again', async () => {
    const [victim] = workerPids(server.stderr()).get(2)!
    process.kill(victim!, 'SIGKILL')
    const [onVictim, others] = [
      clients.filter((c) => c.worker === 2),
      clients.filter((c) => c.worker !== 2),
    ]
    expect(await guard(Promise.all(onVictim.map((c) => c.closeCode)), 'victim closes')).toEqual(
      onVictim.map(() => 1006),
    )
    await Promise.all(others.map((client, i) => echoes(client, `still here ${i}`)))
    await server.waitForOutput(
      new RegExp(`WARNING +Worker 2 \\(pid ${victim}\\) was killed by SIGKILL; restarting it\\n`),
    )
    await vi.waitFor(() => expect(workerPids(server.stderr()).get(2)).toHaveLength(2), {
      timeout: GUARD_MS,
    })
    const restarted = workerPids(server.stderr()).get(2)![1]!
    expect(restarted).not.toBe(victim)
    await vi.waitFor(
      () =>
        expect(server.stderr().match(/^\[worker 2\] .*Listening on TCP address/gm)).toHaveLength(2),
      { timeout: GUARD_MS },
    )
    // New connections reach the new worker 2 again (each lands on it with a chance of 1 in 3).
    clients = others
    let reached = false
    for (let i = 0; i < 60 && !reached; i++) {
      const next = await client()
      clients.push(next)
      reached = next.worker === 2
    }
    expect(reached).toBe(true)
  })

  it('SIGTERM drains every worker: each client gets 1001, every worker exits, the supervisor exits 0', async () => {
    expect(new Set(clients.map((c) => c.worker)).size).toBeGreaterThan(1)
    const pids = [...workerPids(server.stderr()).values()].flat()
    server.child.kill('SIGTERM')
    expect(await guard(closed(server), 'supervisor exit')).toBe(0)
    expect(await guard(Promise.all(clients.map((c) => c.closeCode)), 'client closes')).toEqual(
      clients.map(() => 1001),
    )
    expect(pids.filter(alive)).toEqual([])
    expect(server.stderr()).toMatch(/INFO +Stopping 3 workers \(SIGTERM\)/)
  })
})

describe('the example chat room on a Redis layer', () => {
  it('12 members split over 3 workers, 3 senders × 10 messages: every member gets all 30, once', async () => {
    const redis = await startRedis()
    cleanups.push(() => redis.stop('SIGKILL'))
    const server = await serveWorkers(['-p', '0', '--workers', '3'], {
      cwd: EXAMPLE,
      env: { REDIS_URL: redis.url, CHANNEL_LAYER_BACKEND: 'core' },
    })
    const origin = `http://127.0.0.1:${server.port}`
    const members: Client[] = []
    for (let i = 0; i < 12; i++) {
      const member = await connect(server.port, '/ws/chat/split/', origin)
      cleanups.push(() => member.ws.terminate())
      expect(await member.nextJson()).toEqual({ user: null })
      members.push(member)
    }
    // The members really are on several workers (each lands on one of three at random). The
    // access log reaches us a little after the sockets open.
    const joins = () => [
      ...server.stdout().matchAll(/^\[worker (\d)\] .*"WSCONNECT \/ws\/chat\/split\/"/gm),
    ]
    await vi.waitFor(() => expect(joins()).toHaveLength(12), { timeout: GUARD_MS })
    expect(new Set(joins().map((m) => m[1])).size).toBeGreaterThan(1)

    const got = members.map(() => [] as string[])
    const all = members.map(
      (member, i) =>
        new Promise<void>((resolve) => {
          member.ws.on('message', (data: Buffer) => {
            got[i]!.push((JSON.parse(data.toString()) as { message: string }).message)
            if (got[i]!.length === 30) resolve()
          })
        }),
    )
    for (let n = 0; n < 10; n++) {
      for (const s of [0, 1, 2]) members[s]!.ws.send(JSON.stringify({ message: `s${s}:${n}` }))
    }
    await guard(Promise.all(all), 'every delivery')
    const expected = [0, 1, 2].flatMap((s) => Array.from({ length: 10 }, (_, n) => `s${s}:${n}`))
    for (const messages of got) expect([...messages].sort()).toEqual([...expected].sort())
    expect(await server.stop('SIGTERM')).toBe(0)
  })
})

describe('a stop that takes too long', () => {
  it('a second SIGTERM kills the workers still draining: exit 1', async () => {
    const args = ['app.ts:application', '-p', '0', '--workers', '2']
    const server = await serveWorkers([...args, '--application-close-timeout', '600'], {
      env: { HANG_ON_DISCONNECT: '1' },
    })
    const clients = [await workerClient(server.port), await workerClient(server.port)]
    const pids = [...workerPids(server.stderr()).values()].flat()
    server.child.kill('SIGTERM')
    // Each client got its 1001; its app hangs, so every worker is still draining.
    expect(await guard(Promise.all(clients.map((c) => c.closeCode)), 'client closes')).toEqual([
      1001, 1001,
    ])
    expect(pids.filter(alive)).toEqual(pids)
    server.child.kill('SIGTERM')
    expect(await guard(closed(server), 'supervisor exit')).toBe(1)
    expect(server.stderr()).toMatch(/WARNING +SIGTERM again: killing the workers/)
    await vi.waitFor(() => expect(pids.filter(alive)).toEqual([]), { timeout: GUARD_MS })
  })
})

describe('a worker that cannot start', () => {
  it('worker 2 failing at every start: restarted with a growing wait, worker 1 serves meanwhile', async () => {
    const server = spawnBin(
      ['serve', 'app.ts:application', '-b', '127.0.0.1', '-p', '0', '--workers', '2'],
      project,
      { REFUSE_WORKERS: '2' },
    )
    cleanups.push(() => killAll(() => server.stderr(), server.child))
    const port = Number((await server.waitForOutput(LISTENING, GUARD_MS))[1])
    // The first death restarts at once, the next ones wait 0.5 s, then 1 s (backoff.ts).
    await server.waitForOutput(/Worker 2 \(pid \d+\) exited with code 1; restarting it\n/, GUARD_MS)
    await server.waitForOutput(
      /Worker 2 \(pid \d+\) exited with code 1; restarting it in 0\.5 s/,
      GUARD_MS,
    )
    await server.waitForOutput(
      /Worker 2 \(pid \d+\) exited with code 1; restarting it in 1 s/,
      GUARD_MS,
    )
    expect(server.stderr()).toContain('Error: worker 2 refuses to start')
    expect(server.stderr()).not.toMatch(/All \d+ workers are listening/)
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.headers.get('x-worker')).toBe('1')
    expect(await server.stop('SIGTERM')).toBe(0)
  })

  it('worker 1 failing: its error once, the others never started, exit 1', async () => {
    const server = spawnBin(['serve', 'app.ts:application', '-p', '0', '--workers', '3'], project, {
      REFUSE_WORKERS: '1,2,3',
    })
    cleanups.push(() => killAll(() => server.stderr(), server.child))
    expect(await guard(closed(server), 'supervisor exit')).toBe(1)
    const output = server.stderr()
    expect(output.match(/worker 1 refuses to start/g)).toHaveLength(1)
    expect(output).toMatch(
      /ERROR +Worker 1 could not start \(exited with code 1\); not starting the others\.\n/,
    )
    expect(output).not.toContain('Worker 2 started')
  })
})

describe('refused before serving', () => {
  it('an in-memory channel layer with --workers 2: groups would be split, use Redis', async () => {
    const server = spawnBin(['serve', '-p', '0', '--workers', '2'], EXAMPLE, {})
    cleanups.push(() => killAll(() => server.stderr(), server.child))
    expect(await guard(closed(server), 'supervisor exit')).toBe(1)
    const output = server.stderr()
    expect(output).toContain(
      "--workers 2 needs a channel layer the workers share: CHANNEL_LAYERS['default'] is " +
        'channels.layers.InMemoryChannelLayer, which lives inside one process, so groups would ' +
        'be split across the 2 workers',
    )
    expect(output).toContain("Set CHANNEL_LAYERS['default'] to a Redis layer")
    expect(output).toContain('REDIS_URL')
    expect(output.match(/needs a channel layer the workers share/g)).toHaveLength(1)
    expect(output).not.toContain('Worker 2 started')
  })

  it('without CHANNEL_LAYERS there is nothing to split: two workers serve', async () => {
    const server = await serveWorkers(['app.ts:application', '-p', '0', '--workers', '2'])
    const response = await fetch(`http://127.0.0.1:${server.port}/`)
    expect(['1', '2']).toContain(response.headers.get('x-worker'))
    expect(await server.stop('SIGTERM')).toBe(0)
  })

  it("a busy port: the single server's message, before any worker starts, exit 1", async () => {
    const holder = net.createServer()
    const port = await freePort()
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => holder.close(resolve)))
    const server = spawnBin(
      ['serve', 'app.ts:application', '-b', '127.0.0.1', '-p', String(port), '--workers', '2'],
      project,
    )
    cleanups.push(() => killAll(() => server.stderr(), server.child))
    expect(await guard(closed(server), 'supervisor exit')).toBe(1)
    expect(server.stderr()).toBe(
      'Error: That port is already in use.\n' +
        `Listen failure: Cannot listen on tcp:127.0.0.1:${port}: address already in use (EADDRINUSE)\n`,
    )
  })

  it('a port held with SO_REUSEPORT (which the workers could join): refused the same way', async () => {
    const port = await freePort()
    // A uWebSockets.js server listening without the exclusive flag, as the workers themselves do.
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import uws from 'uWebSockets.js'
         uws.App().any('/*', (res) => res.end('holder')).listen('127.0.0.1', ${port}, 0, (s) => console.log(s ? 'held' : 'failed'))`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    cleanups.push(() => holder.kill('SIGKILL'))
    const said = await guard(
      new Promise<string>((resolve) =>
        holder.stdout.once('data', (d: Buffer) => resolve(d.toString())),
      ),
      'holder listening',
    )
    expect(said.trim()).toBe('held')
    const server = spawnBin(
      ['serve', 'app.ts:application', '-b', '127.0.0.1', '-p', String(port), '--workers', '2'],
      project,
    )
    cleanups.push(() => killAll(() => server.stderr(), server.child))
    expect(await guard(closed(server), 'supervisor exit')).toBe(1)
    expect(server.stderr()).toContain('Error: That port is already in use.')
    expect(server.stderr()).not.toContain('Worker 1 started')
  })

  it('a unix socket endpoint: named, with the reason', async () => {
    const path = join(project, 'app.sock')
    const server = spawnBin(['serve', 'app.ts:application', '-u', path, '--workers', '2'], project)
    cleanups.push(() => killAll(() => server.stderr(), server.child))
    expect(await guard(closed(server), 'supervisor exit')).toBe(1)
    expect(server.stderr()).toContain(
      `--workers 2 cannot serve unix:${path}: a unix socket has one listening socket per path`,
    )
    expect(server.stderr()).not.toContain('Worker 1 started')
  })
})

describe('fd: endpoints and the parent watch', () => {
  it('fd: on the node reactor: the supervisor adopts the inherited socket, both workers serve it', async () => {
    const parent = net.createServer()
    await new Promise<void>((resolve) => parent.listen(0, '127.0.0.1', resolve))
    const { port } = parent.address() as net.AddressInfo
    const fd = (parent as unknown as { _handle: { fd: number } })._handle.fd
    const child = spawn(
      process.execPath,
      [BIN, 'serve', 'app.ts:application', '--fd', '3', '--workers', '2', '--reactor', 'node'],
      {
        cwd: project,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe', fd],
      },
    )
    let output = ''
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    cleanups.push(() => killAll(() => output, child))
    await vi.waitFor(() => expect(output).toMatch(ALL_LISTENING), { timeout: GUARD_MS })
    // Only the supervisor holds the socket now.
    await new Promise((resolve) => parent.close(resolve))
    const served = new Set<string | null>()
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        headers: { connection: 'close' },
      })
      served.add(response.headers.get('x-worker'))
    }
    expect([...served].sort()).toEqual(['1', '2'])
    child.kill('SIGTERM')
    expect(await guard(exited, 'supervisor exit')).toBe(0)
  })

  it('started by npm, the supervisor stops its workers gracefully when its parent shell dies', async () => {
    // `sh -c 'channels serve …; true'` does not exec: the shell stays the supervisor's parent.
    const shell = spawn(
      'sh',
      [
        '-c',
        `"${process.execPath}" "${BIN}" serve app.ts:application -b 127.0.0.1 -p 0 --workers 2; true`,
      ],
      {
        cwd: project,
        env: { ...process.env, NO_COLOR: '1', npm_lifecycle_event: 'start' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    shell.stderr.on('data', (d: Buffer) => (output += d.toString()))
    shell.stdout.on('data', (d: Buffer) => (output += d.toString()))
    const supervisorPid = () => Number(/Supervisor \(pid (\d+)\)/.exec(output)?.[1])
    cleanups.push(() => {
      if (supervisorPid() && alive(supervisorPid())) process.kill(supervisorPid(), 'SIGKILL')
      killAll(() => output, shell)
    })
    await vi.waitFor(() => expect(output).toMatch(ALL_LISTENING), { timeout: GUARD_MS })
    const port = Number(LISTENING.exec(output)![1])
    const clients = [await workerClient(port), await workerClient(port), await workerClient(port)]
    const pid = supervisorPid()
    shell.kill('SIGKILL')
    expect(await guard(Promise.all(clients.map((c) => c.closeCode)), 'client closes')).toEqual([
      1001, 1001, 1001,
    ])
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: GUARD_MS })
    expect(output).toContain('Parent process exited; shutting down.')
  })
})
