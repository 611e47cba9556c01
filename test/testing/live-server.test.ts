/**
 * channels-ts/testing's live servers. In the test process (`startLiveServer`) on both reactors:
 * real WebSocket clients chat through a group and an HTTP request is answered at the URLs it
 * gives; stop is graceful (1001) and idempotent; a busy port or a failed lifespan startup
 * rejects. As a subprocess (`startLiveServerProcess`): the example project under this package's
 * `channels serve` serves its page and its chat, SIGTERM ends it with 0 and its output; bad
 * settings, a busy port or a missing folder reject with the reason; a server whose test process
 * is killed stops by itself. Importing the entry loads no uWebSockets.js, and README's example
 * is the one test/testing/readme/chat.test.ts runs.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Application } from '../../src/framework/asgi/types.js'
import { AsyncWebsocketConsumer } from '../../src/framework/consumers/index.js'
import { ProtocolTypeRouter, URLRouter, path } from '../../src/framework/routing/index.js'
import { getChannelLayer } from '../../src/framework/layers/index.js'
import { configureSettings } from '../../src/framework/settings/index.js'
import { LifespanStartupError } from '../../src/server/index.js'
import {
  LiveServerProcessError,
  startLiveServer,
  startLiveServerProcess,
  type LiveServer,
  type LiveServerProcess,
} from '../../src/testing/index.js'
import { ensureBuilt, ROOT } from '../e2e/helpers.js'
import { openClient, type TestClient } from '../helpers/ws-client.js'
import { REACTORS } from '../helpers/with-server.js'

const EXAMPLE = join(ROOT, 'example')
const cleanups: (() => unknown)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Whether `pid` is a live process (a zombie waiting to be reaped counts as gone). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Whether anything accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function client(url: string, origin?: string): Promise<TestClient> {
  const opened = await openClient(url, undefined, origin === undefined ? {} : { origin })
  cleanups.push(() => opened.ws.terminate())
  return opened
}

class Room extends AsyncWebsocketConsumer {
  override async connect(): Promise<void> {
    await getChannelLayer()!.groupAdd('room', this.channelName)
    await this.accept()
  }
  override async receive(textData?: string): Promise<void> {
    await getChannelLayer()!.groupSend('room', { type: 'room.message', text: textData })
  }
  async room_message(event: { text: string }): Promise<void> {
    await this.send({ textData: event.text })
  }
}

const hello: Application = async (scope, receive, send) => {
  if (scope.type !== 'http') return
  await receive()
  await send({
    type: 'http.response.start',
    status: 200,
    headers: [[Buffer.from('content-type'), Buffer.from('text/plain')]],
  })
  await send({ type: 'http.response.body', body: Buffer.from(`hello from ${scope.path}`) })
}

const chatApp = new ProtocolTypeRouter({
  http: hello,
  websocket: new URLRouter([path('ws/room/', Room.asAsgi())]),
})

describe.each(REACTORS)('startLiveServer on the %s reactor', (reactor) => {
  beforeEach(() => {
    configureSettings({
      CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } },
    })
  })
  afterEach(() => configureSettings({}))

  async function live(app: Application = chatApp, options = {}): Promise<LiveServer> {
    const server = await startLiveServer(app, { reactor, ...options })
    cleanups.push(() => server.stop())
    return server
  }

  it('serves HTTP at url and WebSockets at wsUrl; real clients chat through a group', async () => {
    const server = await live()
    expect(server.reactor).toBe(reactor)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    expect(server.wsUrl).toBe(`ws://127.0.0.1:${server.port}`)
    expect(server.port).toBeGreaterThan(0)

    const response = await fetch(`${server.url}/some/page`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('hello from /some/page')

    const alice = await client(`${server.wsUrl}/ws/room/`)
    const bob = await client(`${server.wsUrl}/ws/room/`)
    bob.send('hi alice')
    expect(await alice.next()).toBe('hi alice')
    expect(await bob.next()).toBe('hi alice')
  })

  it('stops gracefully: open WebSockets get 1001, the port closes, a second stop is the same', async () => {
    const server = await live()
    const alice = await client(`${server.wsUrl}/ws/room/`)
    expect(server.server.connectionCount).toBe(1)
    const first = server.stop()
    expect(server.stop()).toBe(first)
    await first
    expect((await alice.closed).code).toBe(1001)
    expect(server.server.connectionCount).toBe(0)
    expect(await accepts(server.port)).toBe(false)
    await server.stop()
  })

  it('rejects with the listen error on a busy port, leaving the other server serving', async () => {
    const holder = await live()
    const failure = await startLiveServer(chatApp, { reactor, port: holder.port }).catch(
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(Error)
    expect((failure as Error).message).toMatch(/^Listen failure: .*address already in use/)
    expect((await fetch(`${holder.url}/still`)).status).toBe(200)
  })

  it('rejects with LifespanStartupError when the application fails its startup', async () => {
    const app: Application = async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return
      await receive()
      await send({ type: 'lifespan.startup.failed', message: 'database unreachable' })
    }
    const failure = await startLiveServer(app, { reactor }).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(LifespanStartupError)
    expect((failure as Error).message).toBe('Application startup failed: database unreachable')
  })

  it('serves static files in front of the application when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'channels-live-static-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'site.css'), 'body { color: red }')
    const server = await live(chatApp, { staticFiles: { staticUrl: '/static/', roots: [dir] } })
    const css = await fetch(`${server.url}/static/site.css`)
    expect(css.status).toBe(200)
    expect(await css.text()).toBe('body { color: red }')
    expect(await (await fetch(`${server.url}/other`)).text()).toBe('hello from /other')
  })
})

describe('channels-ts/testing, the package entry', () => {
  beforeAll(() => ensureBuilt(), 120_000)

  it('exports what it did plus the live servers, and loads uWebSockets.js only for a uws server', async () => {
    // A fresh process, importing the package by name (its `exports`, the build).
    const script = `
      const uws = () =>
        process.report.getReport().sharedObjects.some((file) => /uws_[^/]*\\.node$/.test(file))
      const testing = await import('channels-ts/testing')
      const report = { exports: Object.keys(testing).sort(), afterImport: uws() }
      const app = async () => {}
      const node = await testing.startLiveServer(app, { reactor: 'node' })
      await node.stop()
      report.afterNode = uws()
      const server = await testing.startLiveServer(app, { reactor: 'uws' })
      await server.stop()
      report.afterUws = uws()
      console.log(JSON.stringify(report))
    `
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(run.stderr).toBe('')
    const report = JSON.parse(run.stdout) as Record<string, unknown>
    expect(report).toEqual({
      exports: [
        // What it exported before the live servers: the communicators (src/framework/testing).
        'ApplicationCommunicator',
        'HttpCommunicator',
        'TimeoutError',
        'WebsocketCommunicator',
        'LiveServerProcessError',
        'startLiveServer',
        'startLiveServerProcess',
      ].sort(),
      afterImport: false,
      afterNode: false,
      afterUws: true,
    })
  })

  it("README's live-server example is test/testing/readme/chat.test.ts, verbatim", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const start = readme.indexOf('### Testing your consumers')
    const section = readme.slice(start, readme.indexOf('\n### ', start + 1))
    const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!)
    const example = blocks.find((block) => block.includes('startLiveServer('))
    expect(example).toBeDefined()
    const test = readFileSync(join(import.meta.dirname, 'readme/chat.test.ts'), 'utf8')
    expect(test.endsWith(example!)).toBe(true)
  })
})

describe('startLiveServerProcess', () => {
  beforeAll(() => ensureBuilt(), 120_000)

  async function serve(options = {}): Promise<LiveServerProcess> {
    const server = await startLiveServerProcess({ cwd: EXAMPLE, ...options })
    cleanups.push(() => server.stop())
    return server
  }

  describe.each(REACTORS)('the example project on the %s reactor', (reactor) => {
    it('serves its page and its chat; SIGTERM ends it with 0 and its output', async () => {
      const server = await serve({ reactor })
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
      expect(server.wsUrl).toBe(`ws://127.0.0.1:${server.port}`)
      expect(server.stderr).toContain(`Listening on TCP address 127.0.0.1:${server.port}`)
      expect(server.stderr).toContain(
        reactor === 'uws' ? 'Reactor: uWebSockets.js' : 'Reactor: node',
      )

      const page = await fetch(`${server.url}/`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('Chat rooms')

      // The example checks the Origin (AllowedHostsOriginValidator).
      const a = await client(`${server.wsUrl}/ws/chat/live/`, server.url)
      const b = await client(`${server.wsUrl}/ws/chat/live/`, server.url)
      expect(JSON.parse(String(await a.next()))).toEqual({ user: null })
      expect(JSON.parse(String(await b.next()))).toEqual({ user: null })
      b.send(JSON.stringify({ message: 'from b' }))
      expect(JSON.parse(String(await a.next()))).toEqual({ message: 'from b', user: null })

      const exit = await server.stop()
      expect(exit.code).toBe(0)
      expect(exit.signal).toBeNull()
      expect((await a.closed).code).toBe(1001)
      expect(exit.stdout).toContain('"GET /" 200')
      expect(exit.stderr).toContain('Listening on TCP address')
      expect(isRunning(server.pid)).toBe(false)
      expect(await accepts(server.port)).toBe(false)
    })
  })

  it('a stop as soon as it listens is still graceful (exit 0), run after run', async () => {
    // serve subscribes to signals just after its listening line; the child's preload holds a
    // signal that comes before that (about every other run ended by SIGTERM without it).
    for (let run = 0; run < 4; run++) {
      const server = await serve()
      const exit = await server.stop()
      expect({ run, code: exit.code, signal: exit.signal }).toEqual({ run, code: 0, signal: null })
    }
  })

  it('stop() again, or after the process ended by itself, reports the same exit', async () => {
    const server = await serve()
    process.kill(server.pid, 'SIGINT')
    const exit = await server.exited
    expect(exit.code).toBe(0)
    const stopped = server.stop()
    expect(server.stop()).toBe(stopped)
    expect(await stopped).toBe(exit)
  })

  it('rejects with the exit code and the error when the settings fail to load', async () => {
    const project = mkdtempSync(join(tmpdir(), 'channels-live-bad-settings-'))
    cleanups.push(() => rmSync(project, { recursive: true, force: true }))
    writeFileSync(join(project, 'settings.ts'), "throw new Error('settings exploded')\n")
    const failure = await startLiveServerProcess({ cwd: project }).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(LiveServerProcessError)
    const { message, exit } = failure as LiveServerProcessError
    expect(message).toMatch(/^channels serve -b 127\.0\.0\.1 -p 0 \(in .*\) exited \(code 1\)/)
    expect(message).toContain('settings exploded')
    expect(exit.code).toBe(1)
    expect(exit.stderr).toContain('settings exploded')
  })

  it('gives up on a server that never listens: rejects after startTimeout, the process ended', async () => {
    const project = mkdtempSync(join(tmpdir(), 'channels-live-stuck-'))
    cleanups.push(() => rmSync(project, { recursive: true, force: true }))
    // Settings that never finish loading, and block the event loop (SIGTERM cannot be handled).
    writeFileSync(join(project, 'settings.ts'), 'for (;;) {}\nexport default {}\n')
    const failure = await startLiveServerProcess({
      cwd: project,
      startTimeout: 3_000,
      stopTimeout: 1_000,
    }).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(LiveServerProcessError)
    const { message, exit } = failure as LiveServerProcessError
    expect(message).toMatch(
      /^channels serve -b 127\.0\.0\.1 -p 0 \(in .*\) did not listen within 3000 ms/,
    )
    // SIGTERM was held for a CLI that never got to listen for it; stopTimeout later, SIGKILL.
    expect(exit.code).toBeNull()
    expect(exit.signal).toBe('SIGKILL')
  })

  it('a stop that comes before serve handles signals waits for it: a slow start stopped on its timeout ends with 0', async () => {
    const project = mkdtempSync(join(tmpdir(), 'channels-live-slow-'))
    cleanups.push(() => rmSync(project, { recursive: true, force: true }))
    writeFileSync(join(project, 'app.ts'), 'export const application = async () => {}\n')
    // Settings that take 3 s to load, blocking: the SIGTERM sent after startTimeout (1 s)
    // arrives long before serve listens and subscribes to signals.
    writeFileSync(
      join(project, 'settings.ts'),
      [
        'const until = Date.now() + 3_000',
        'while (Date.now() < until) {}',
        "export default { DEBUG: true, ASGI_APPLICATION: 'app.application' }",
      ].join('\n'),
    )
    const failure = await startLiveServerProcess({ cwd: project, startTimeout: 1_000 }).catch(
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(LiveServerProcessError)
    const { message, exit } = failure as LiveServerProcessError
    expect(message).toMatch(/did not listen within 1000 ms/)
    // It went on to listen, then stopped gracefully on the held signal.
    expect(exit.stderr).toContain('Listening on TCP address')
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null })
  })

  it('rejects with the listen error when the port is taken', async () => {
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => holder.close(resolve)))
    const { port } = holder.address() as net.AddressInfo
    const failure = await startLiveServerProcess({ cwd: EXAMPLE, port }).catch(
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(LiveServerProcessError)
    expect((failure as Error).message).toMatch(/exited \(code [1-9]\d*\) before it listened/)
    expect((failure as Error).message).toMatch(/address already in use/i)
    expect((failure as LiveServerProcessError).exit.code).not.toBe(0)
  })

  it('rejects at once for a folder that does not exist', async () => {
    const missing = join(tmpdir(), 'channels-live-no-such-folder')
    await expect(startLiveServerProcess({ cwd: missing })).rejects.toThrow(
      `startLiveServerProcess(): the folder ${missing} does not exist`,
    )
  })

  it('stops by itself when the process that started it is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'channels-live-orphan-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const script = join(dir, 'start.mjs')
    writeFileSync(
      script,
      [
        `import { startLiveServerProcess } from ${JSON.stringify(join(ROOT, 'dist/src/testing/index.js'))}`,
        `const server = await startLiveServerProcess({ cwd: ${JSON.stringify(EXAMPLE)} })`,
        'console.log(JSON.stringify({ pid: server.pid, port: server.port }))',
        'setInterval(() => {}, 1000)',
      ].join('\n'),
    )
    const starter = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] })
    cleanups.push(() => starter.kill('SIGKILL'))
    let errors = ''
    starter.stderr.setEncoding('utf8').on('data', (text: string) => (errors += text))
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      starter.stdout.setEncoding('utf8').on('data', (text: string) => {
        out += text
        if (out.includes('\n')) resolve(out)
      })
      starter.once('exit', (code) =>
        reject(new Error(`the starter exited with ${String(code)}: ${out}${errors}`)),
      )
    })
    const { pid, port } = JSON.parse(line) as { pid: number; port: number }
    cleanups.push(() => {
      if (isRunning(pid)) process.kill(pid, 'SIGKILL')
    })
    expect(isRunning(pid)).toBe(true)
    expect(await accepts(port)).toBe(true)
    starter.kill('SIGKILL')
    await vi.waitFor(() => expect(isRunning(pid)).toBe(false), { timeout: 15_000, interval: 100 })
    expect(await accepts(port)).toBe(false)
  })
})

afterAll(() => configureSettings({}))
