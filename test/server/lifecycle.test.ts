// Start/stop, graceful shutdown (1001), lifespan, listen failures and application swap.
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CancelledError, ValueError } from '../../src/framework/asgi/errors.js'
import type { Application, Receive, Scope, Send } from '../../src/framework/asgi/types.js'
import { createServer, LifespanStartupError, type Server } from '../../src/server/index.js'
import { echoWebSocketApp } from '../helpers/asgi-apps.js'
import { REACTORS, useLogRecords, useServers } from '../helpers/with-server.js'
import { openClient } from '../helpers/ws-client.js'

describe.each(REACTORS)('server lifecycle on the %s reactor', (reactor) => {
  const start = useServers()
  const logs = useLogRecords()

  it('start() reports the reactor, its engine and the bound listeners', async () => {
    const { started, port } = await start(echoWebSocketApp(), { reactor })
    expect(started.reactor).toBe(reactor)
    expect(started.engine).toBeTruthy()
    expect(started.listeners).toHaveLength(1)
    expect(started.listeners[0]!.endpoint).toMatchObject({
      kind: 'tcp',
      host: '127.0.0.1',
      port: 0,
    })
    expect(started.listeners[0]!.address).toEqual({ kind: 'tcp', host: '127.0.0.1', port })
  })

  it('graceful stop: every WebSocket gets 1001, in-flight HTTP finishes, then stop() resolves', async () => {
    const echo = echoWebSocketApp()
    let release!: () => void
    const slow = new Promise<void>((resolve) => (release = resolve))
    const app: Application = async (scope, receive, send) => {
      if (scope.type === 'websocket') return echo(scope, receive, send)
      await receive()
      await slow
      await send({ type: 'http.response.start', status: 200 })
      await send({ type: 'http.response.body', body: Buffer.from('finished') })
    }
    const { server, wsUrl, url } = await start(app, { reactor })
    const clients = await Promise.all([openClient(`${wsUrl}/a`), openClient(`${wsUrl}/b`)])
    const inflight = fetch(`${url}/slow`)
    await expect.poll(() => server.connectionCount).toBe(3)
    const stopped = server.stop()
    for (const client of clients) expect((await client.closed).code).toBe(1001)
    release()
    const response = await inflight
    expect(await response.text()).toBe('finished')
    await stopped
    expect(server.connectionCount).toBe(0)
    for (const call of echo.calls)
      expect(call.messages.at(-1)).toMatchObject({ type: 'websocket.disconnect' })
    await expect(fetch(`${url}/`)).rejects.toThrow()
  })

  it('stop() cancels apps that outlive applicationCloseTimeout (CancelledError from receive)', async () => {
    let cancelled: unknown = null
    const stubborn = async (_scope: Scope, receive: Receive, send: Send) => {
      await receive()
      await send({ type: 'http.response.start', status: 200 })
      await send({ type: 'http.response.body', body: Buffer.from('x'), more_body: true })
      // Ignores the client; only cancellation ends it.
      for (;;) {
        try {
          await receive()
        } catch (error) {
          cancelled = error
          return
        }
      }
    }
    const { server, url } = await start(stubborn, { reactor, applicationCloseTimeout: 200 })
    const controller = new AbortController()
    const response = await fetch(url, { signal: controller.signal })
    expect(response.status).toBe(200)
    await server.stop()
    controller.abort()
    await expect.poll(() => cancelled).toBeInstanceOf(CancelledError)
    expect(logs.some((r) => r.message === 'Killed 1 pending application instances')).toBe(true)
    expect(server.connectionCount).toBe(0)
  })

  it('application swap: new connections get the new app, open ones keep theirs', async () => {
    const tagged =
      (tag: string): Application =>
      async (_scope, receive, send) => {
        for (;;) {
          const message = (await receive()) as { type: string; text?: string }
          if (message.type === 'websocket.connect') await send({ type: 'websocket.accept' })
          else if (message.type === 'websocket.receive')
            await send({ type: 'websocket.send', text: `${tag}:${message.text}` })
          else return
        }
      }
    const { server, wsUrl } = await start(tagged('old'), { reactor })
    const before = await openClient(`${wsUrl}/`)
    const newApp = tagged('new')
    server.application = newApp
    expect(server.application).toBe(newApp)
    const after = await openClient(`${wsUrl}/`)
    before.send('a')
    after.send('b')
    expect(await before.next()).toBe('old:a')
    expect(await after.next()).toBe('new:b')
    before.close()
    after.close()
    await expect.poll(() => server.connectionCount).toBe(0)
  })

  it('lifespan: startup before listening, state shared into scopes, shutdown on stop', async () => {
    const events: string[] = []
    let seenState: unknown
    const app: Application = async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        expect(await receive()).toEqual({ type: 'lifespan.startup' })
        ;(scope.state as Record<string, unknown>).db = 'connected'
        events.push('startup')
        await send({ type: 'lifespan.startup.complete' })
        expect(await receive()).toEqual({ type: 'lifespan.shutdown' })
        events.push('shutdown')
        await send({ type: 'lifespan.shutdown.complete' })
        return
      }
      seenState = scope.state
      await receive()
      await send({ type: 'http.response.start', status: 204 })
      await send({ type: 'http.response.body' })
    }
    const { server, url } = await start(app, { reactor, lifespan: 'on' })
    expect(events).toEqual(['startup'])
    expect((await fetch(url)).status).toBe(204)
    expect(seenState).toEqual({ db: 'connected' })
    await server.stop()
    expect(events).toEqual(['startup', 'shutdown'])
  })

  it('lifespan startup failure: start() rejects and nothing listens', async () => {
    const app: Application = async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return
      await receive()
      await send({ type: 'lifespan.startup.failed', message: 'database unreachable' })
    }
    const server = createServer(app, ['tcp:port=0:interface=127.0.0.1'], {
      reactor,
      lifespan: 'auto',
    })
    const failure = await server.start().catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(LifespanStartupError)
    expect((failure as Error).message).toBe('Application startup failed: database unreachable')
    await server.closed
  })

  it("lifespan auto: an app raising on the lifespan scope is 'unsupported' (debug), not an error", async () => {
    const app: Application = async (scope, receive, send) => {
      if (scope.type === 'lifespan')
        throw new ValueError("No application configured for scope type 'lifespan'")
      await receive()
      await send({ type: 'http.response.start', status: 200 })
      await send({ type: 'http.response.body', body: Buffer.from('ok') })
    }
    const { url, server } = await start(app, { reactor, lifespan: 'auto' })
    expect((await fetch(url)).status).toBe(200)
    expect(
      logs.some(
        (r) => r.level === 'debug' && r.message.includes("'lifespan' protocol appears unsupported"),
      ),
    ).toBe(true)
    expect(logs.some((r) => r.level === 'error')).toBe(false)
    await server.stop()
    const strict = createServer(app, ['tcp:port=0:interface=127.0.0.1'], {
      reactor,
      lifespan: 'on',
    })
    await expect(strict.start()).rejects.toThrow(
      /Application startup failed: No application configured/,
    )
  })

  it('lifespan off: the app never sees a lifespan scope', async () => {
    const types: string[] = []
    const app: Application = async (scope) => {
      types.push(scope.type)
    }
    const { server } = await start(app, { reactor, lifespan: 'off' })
    await server.stop()
    expect(types).toEqual([])
  })

  it('a busy port: start() rejects with a clear Listen failure and closes listeners already open', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const busyPort = (blocker.address() as net.AddressInfo).port
    const dir = await mkdtemp(join(tmpdir(), 'channels-busy-'))
    const socketPath = join(dir, 's.sock')
    try {
      const server = createServer(
        echoWebSocketApp(),
        [`unix:${socketPath}`, `tcp:port=${busyPort}:interface=127.0.0.1`],
        { reactor, lifespan: 'off' },
      )
      const failure = (await server.start().catch((e: unknown) => e)) as Error
      expect(failure).toBeInstanceOf(Error)
      expect(failure.message).toMatch(/^Listen failure: /)
      expect(failure.message).toContain(`127.0.0.1:${busyPort}`)
      expect(failure.message.toLowerCase()).toContain('address already in use')
      // The unix listener that had opened is closed again.
      await expect(
        new Promise((resolve, reject) =>
          net.connect(socketPath).on('connect', resolve).on('error', reject),
        ),
      ).rejects.toThrow()
    } finally {
      blocker.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('createServer argument checks', () => {
  const servers: Server[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()))
  })

  it('needs endpoints and an application function', () => {
    expect(() => createServer(echoWebSocketApp(), [])).toThrow(/No endpoints/)
    expect(() => createServer(null as never, ['tcp:8000'])).toThrow(TypeError)
  })

  it('rejects a malformed endpoint string at construction', () => {
    expect(() => createServer(echoWebSocketApp(), ['nope:what'])).toThrow()
  })
})
