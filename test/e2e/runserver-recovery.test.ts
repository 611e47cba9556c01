/**
 * runserver keeps the process recoverable, through the built binary on both reactors: a stuck
 * event loop (`while (true) {}` at import) is noticed by the watchdog parent, which restarts the
 * server on the same port and serves again once the file is fixed; SIGINT/SIGTERM end parent and
 * child even while the child is stuck; a retired generation's intervals stop and its
 * `import.meta.hot.dispose` callbacks run, while its open connections keep working until they
 * close.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { REACTORS } from '../helpers/with-server.js'
import { stuckTimeout, wantsSupervisor } from '../../src/cli/reload/supervisor.js'
import {
  connect,
  ensureBuilt,
  httpGet,
  runBin,
  spawnBin,
  type Client,
  type Spawned,
} from './helpers.js'

let dir: string | undefined
let server: Spawned | undefined
const clients: Client[] = []
beforeAll(() => ensureBuilt(), 120_000)
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)))
  await server?.stop('SIGTERM')
  server = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

/** The stuck timeout the tests run with (seconds): short, yet far above a busy machine's pauses. */
const STUCK_TIMEOUT = '3'

const SETTINGS = "export default { DEBUG: true, ASGI_APPLICATION: 'site.routing.application' }\n"

/**
 * An ASGI app (no framework) that answers HTTP with its label and echoes WebSocket text as
 * `label:text`; at import it starts an interval appending its label to `ticks`, and registers an
 * `import.meta.hot.dispose` callback appending the label to `disposed`.
 */
const ROUTING = `
import { appendFileSync } from 'node:fs'
import { label } from './consumers'
const ticks = ${JSON.stringify('TICKS')}
const disposed = ${JSON.stringify('DISPOSED')}
setInterval(() => appendFileSync(ticks, label + '\\n'), 40)
import.meta.hot?.dispose(() => appendFileSync(disposed, label + '\\n'))
export const application = async (scope: any, receive: any, send: any) => {
  if (scope.type === 'http') {
    await send({ type: 'http.response.start', status: 200, headers: [] })
    await send({ type: 'http.response.body', body: Buffer.from(label) })
  } else if (scope.type === 'websocket') {
    for (;;) {
      const event = await receive()
      if (event.type === 'websocket.connect') await send({ type: 'websocket.accept' })
      else if (event.type === 'websocket.receive') {
        await send({ type: 'websocket.send', text: label + ':' + event.text })
      } else return
    }
  }
}
`

const consumers = (label: string) => `export const label = ${JSON.stringify(label)}\n`
/** Writes the stuck process's pid to `marker`, then never yields. */
const stuckConsumers = (marker: string) =>
  `import { writeFileSync } from 'node:fs'\n` +
  `writeFileSync(${JSON.stringify(marker)}, String(process.pid))\n` +
  `while (true) {}\n` +
  `export const label = 'never'\n`

interface Project {
  cwd: string
  ticks: string
  disposed: string
  marker: string
  write(file: string, content: string): void
}

function project(label = 'g1'): Project {
  const cwd = mkdtempSync(join(tmpdir(), 'channels-e2e-recovery-'))
  dir = cwd
  const write = (file: string, content: string) => {
    mkdirSync(dirname(join(cwd, file)), { recursive: true })
    writeFileSync(join(cwd, file), content)
  }
  const files = {
    cwd,
    ticks: join(cwd, 'ticks.log'),
    disposed: join(cwd, 'disposed.log'),
    marker: join(cwd, 'stuck.pid'),
    write,
  }
  write('settings.ts', SETTINGS)
  const routing = ROUTING.replace('TICKS', files.ticks).replace('DISPOSED', files.disposed)
  write('site/routing.ts', routing)
  write('site/consumers.ts', consumers(label))
  return files
}

function start(cwd: string, reactor: string): Spawned {
  server = spawnBin(['runserver', '127.0.0.1:0', '--reactor', reactor], cwd, {
    CHANNELS_RUNSERVER_STUCK_TIMEOUT: STUCK_TIMEOUT,
  })
  return server
}

/** The port of the `occurrence`-th server start, once it printed its banner and watches files. */
async function serving(running: Spawned, occurrence = 1): Promise<number> {
  const banner = /development server at http:\/\/127\.0\.0\.1:(\d+)\//g
  let port = 0
  await vi.waitFor(
    () => {
      const started = [...running.stdout().matchAll(banner)]
      const watching = running.stderr().split('Watching for file changes').length - 1
      if (started.length < occurrence || watching < occurrence)
        throw new Error(`not serving yet:\n${running.stdout()}\n${running.stderr()}`)
      port = Number(started[occurrence - 1]?.[1])
    },
    { timeout: 20_000, interval: 20 },
  )
  return port
}

async function client(port: number): Promise<Client> {
  const c = await connect(port, '/ws/')
  clients.push(c)
  return c
}

async function echo(c: Client, text: string): Promise<string> {
  c.ws.send(text)
  return c.next()
}

function count(file: string, label: string): number {
  if (!existsSync(file)) return 0
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line === label).length
}

/** Resolves with the pid the stuck module wrote, once a process is inside the loop. */
async function stuckPid(marker: string, previous?: number): Promise<number> {
  let pid = 0
  await vi.waitFor(
    () => {
      pid = existsSync(marker) ? Number(readFileSync(marker, 'utf8')) : 0
      if (!pid || pid === previous) throw new Error('no process stuck yet')
    },
    { timeout: 20_000, interval: 20 },
  )
  return pid
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe.each(REACTORS)('runserver recovers from a stuck event loop (%s)', (reactor) => {
  it('restarts the stuck server, serves again on the same port once the file is fixed', async () => {
    const p = project()
    const running = start(p.cwd, reactor)
    const port = await serving(running)
    expect((await httpGet(port, '/')).body).toBe('g1')
    const before = await client(port)
    expect(await echo(before, 'hi')).toBe('g1:hi')

    p.write('site/consumers.ts', stuckConsumers(p.marker))
    const first = await stuckPid(p.marker)
    await running.waitForOutput(
      /The server has not answered for 3 s: its event loop is stuck in code that never yields/,
      20_000,
    )
    expect(running.stderr()).toContain(
      '(such as `while (true) {}`). Restarting the server process; its open connections are closed.',
    )
    await vi.waitFor(() => expect(alive(first)).toBe(false), { timeout: 10_000 })
    // The restarted server loads the same file and gets stuck again while starting: it waits.
    const second = await stuckPid(p.marker, first)
    await running.waitForOutput(
      /has not answered for 3 s while starting again: .*It restarts when you save a file\./,
      20_000,
    )
    await vi.waitFor(() => expect(alive(second)).toBe(false), { timeout: 10_000 })

    p.write('site/consumers.ts', consumers('g2'))
    expect(await serving(running, 2)).toBe(port)
    expect((await httpGet(port, '/')).body).toBe('g2')
    const after = await client(port)
    expect(await echo(after, 'back')).toBe('g2:back')
    expect(running.child.exitCode).toBeNull()
  }, 90_000)

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s ends the parent and the stuck child',
    async (signal) => {
      const p = project()
      const running = start(p.cwd, reactor)
      const port = await serving(running)
      expect((await httpGet(port, '/')).body).toBe('g1')
      p.write('site/consumers.ts', stuckConsumers(p.marker))
      const pid = await stuckPid(p.marker)
      running.child.kill(signal)
      const code = await Promise.race([
        running.exited,
        new Promise<'hung'>((resolve) => setTimeout(resolve, 15_000, 'hung')),
      ])
      expect(code).not.toBe('hung')
      await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 5_000 })
      expect(running.stderr()).toContain('The server process was stuck; killed it.')
    },
    60_000,
  )
})

describe.each(REACTORS)('a retired generation stops running (%s)', (reactor) => {
  it('its interval stops and dispose runs once its last connection closed', async () => {
    const p = project()
    const running = start(p.cwd, reactor)
    const port = await serving(running)
    await vi.waitFor(() => expect(count(p.ticks, 'g1')).toBeGreaterThan(0), { timeout: 10_000 })
    const old = await client(port)
    expect(await echo(old, 'a')).toBe('g1:a')

    p.write('site/consumers.ts', consumers('g2'))
    await running.waitForOutput(/Reloaded in \d+ ms \(generation 2\)/)
    expect((await httpGet(port, '/')).body).toBe('g2')
    const fresh = await client(port)
    expect(await echo(fresh, 'b')).toBe('g2:b')
    await vi.waitFor(() => expect(count(p.ticks, 'g2')).toBeGreaterThan(0), { timeout: 10_000 })

    // An open connection keeps generation 1: its consumer answers and its interval still runs.
    expect(await echo(old, 'c')).toBe('g1:c')
    const running1 = count(p.ticks, 'g1')
    await vi.waitFor(() => expect(count(p.ticks, 'g1')).toBeGreaterThan(running1 + 2), {
      timeout: 10_000,
    })
    expect(count(p.disposed, 'g1')).toBe(0)

    // Its last connection closes: generation 1 retires.
    await old.close()
    await vi.waitFor(() => expect(count(p.disposed, 'g1')).toBe(1), { timeout: 10_000 })
    const stopped = count(p.ticks, 'g1')
    const g2 = count(p.ticks, 'g2')
    // Generation 2 ticks on while generation 1 stays silent (its interval was every 40 ms).
    await vi.waitFor(() => expect(count(p.ticks, 'g2')).toBeGreaterThan(g2 + 10), {
      timeout: 10_000,
    })
    expect(count(p.ticks, 'g1')).toBe(stopped)
    expect(await echo(fresh, 'd')).toBe('g2:d')

    // Stopping the server retires the current generation too.
    expect(await running.stop('SIGINT')).toBe(0)
    expect(count(p.disposed, 'g2')).toBe(1)
    expect(count(p.disposed, 'g1')).toBe(1)
  }, 60_000)

  it('a generation nothing uses retires as soon as the next one serves', async () => {
    const p = project()
    const running = start(p.cwd, reactor)
    const port = await serving(running)
    expect((await httpGet(port, '/')).body).toBe('g1')
    p.write('site/consumers.ts', consumers('g2'))
    await running.waitForOutput(/Reloaded in \d+ ms \(generation 2\)/)
    await vi.waitFor(() => expect(count(p.disposed, 'g1')).toBe(1), { timeout: 10_000 })
    const stopped = count(p.ticks, 'g1')
    const g2 = count(p.ticks, 'g2')
    await vi.waitFor(() => expect(count(p.ticks, 'g2')).toBeGreaterThan(g2 + 10), {
      timeout: 10_000,
    })
    expect(count(p.ticks, 'g1')).toBe(stopped)
  }, 60_000)
})

describe('when the watchdog runs', () => {
  it('runserver with reloading only; --noreload, --help, a debugger or a timeout of 0 opt out', () => {
    expect(wantsSupervisor(['runserver', '8000'], {})).toBe(true)
    expect(wantsSupervisor(['runserver', '--noreload'], {})).toBe(false)
    expect(wantsSupervisor(['runserver', '--help'], {})).toBe(false)
    expect(wantsSupervisor(['serve'], {})).toBe(false)
    expect(wantsSupervisor(['runserver'], { CHANNELS_RUNSERVER_CHILD: '1' })).toBe(false)
    expect(wantsSupervisor(['runserver'], { NODE_OPTIONS: '--inspect=9230' })).toBe(false)
    expect(wantsSupervisor(['runserver'], { CHANNELS_RUNSERVER_STUCK_TIMEOUT: '0' })).toBe(false)
    expect(stuckTimeout({})).toBe(5)
    expect(stuckTimeout({ CHANNELS_RUNSERVER_STUCK_TIMEOUT: '2.5' })).toBe(2.5)
  })

  it('a bad CHANNELS_RUNSERVER_STUCK_TIMEOUT is a clear error and exit code 1', () => {
    const p = project()
    const result = runBin(['runserver', '127.0.0.1:0'], p.cwd, {
      CHANNELS_RUNSERVER_STUCK_TIMEOUT: 'soon',
    })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain(
      "CHANNELS_RUNSERVER_STUCK_TIMEOUT must be a number of seconds (0 turns the watchdog off), got 'soon'.",
    )
  })
})
