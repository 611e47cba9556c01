/**
 * Slow and surplus clients over raw sockets (issue 13 item 10): the node reactor applies the
 * server's `headersTimeout`, `requestTimeout`, `keepAliveTimeout` and `maxConnections` (it used
 * to keep a slowloris client 60–80 s and a trickling body up to 300 s); uWS 20.30 has fixed
 * equivalents (~10 s for a head, 16 KiB per ~10 s for a body, ~10 s idle), shown here too. The
 * uWS cases wait for its ~10 s timer, so every case runs concurrently on a server of its own.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { setLogHandler, type LogRecord } from '../../src/framework/asgi/logging.js'
import type { Receive, Scope, Send } from '../../src/framework/asgi/types.js'
import type { ReactorName } from '../../src/server/reactor/types.js'
import { resolveServerConfig } from '../../src/server/config.js'
import { createServer, type Server, type ServerOptions } from '../../src/server/index.js'
import { REACTORS } from '../helpers/with-server.js'
import { connectRaw, openClient, type RawConnection } from '../helpers/ws-client.js'

/** Short limits, so the node reactor's answers come quickly. */
const LIMITS: ServerOptions = { headersTimeout: 500, requestTimeout: 1_000, keepAliveTimeout: 300 }

/** How long a case may wait for the server to end a connection: uWS needs its ~10 s (+4 s). */
function bound(reactor: ReactorName): number {
  return reactor === 'node' ? 4_000 : 30_000
}

/** An app that reads the body (recording whether the client left) and answers "ok". */
function recordingApp(delay = 0) {
  const events: string[] = []
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type === 'websocket') {
      await receive()
      await send({ type: 'websocket.accept' })
      for (;;) {
        const message = (await receive()) as { type: string; text?: string }
        if (message.type === 'websocket.disconnect') return
        await send({ type: 'websocket.send', text: message.text ?? '' })
      }
    }
    if (scope.type !== 'http') return
    for (;;) {
      const message = (await receive()) as { type: string; more_body?: boolean }
      if (message.type === 'http.disconnect') {
        events.push(`disconnect ${scope.path}`)
        return
      }
      if (!message.more_body) break
    }
    await sleep(delay)
    await send({ type: 'http.response.start', status: 200, headers: [] })
    await send({ type: 'http.response.body', body: Buffer.from('ok') })
    events.push(`answered ${scope.path}`)
  }
  return { app, events }
}

/** Servers started by the concurrent cases, stopped together at the end. */
const servers: Server[] = []
afterAll(() => Promise.all(servers.map((server) => server.stop())))

async function start(reactor: ReactorName, options: ServerOptions, delay = 0) {
  const { app, events } = recordingApp(delay)
  const server = createServer(app, ['tcp:port=0:interface=127.0.0.1'], {
    reactor,
    lifespan: 'off',
    applicationCloseTimeout: 2_000,
    ...options,
  })
  servers.push(server)
  const address = (await server.start()).listeners[0]!.address
  return { server, events, port: 'port' in address ? address.port : 0 }
}

/** Wait (up to `limit`) for the server to end `raw`; false when it was still open. */
async function endedByServer(raw: RawConnection, limit: number): Promise<boolean> {
  let ended = true
  const timer = setTimeout(() => {
    ended = false
    raw.destroy()
  }, limit)
  await raw.closed
  clearTimeout(timer)
  return ended
}

/** Write `first`, then `next(i)` every 100 ms until the connection ends. */
function trickle(raw: RawConnection, first: string, next: (i: number) => string): void {
  raw.write(first)
  void (async () => {
    for (let i = 0; i < 400; i++) {
      await sleep(100)
      if (raw.socket.destroyed) return
      raw.write(next(i))
    }
  })()
}

/** The node reactor answers 408; uWS closes without a word. */
function expectTimedOut(reactor: ReactorName, raw: RawConnection) {
  const text = raw.received().toString('latin1')
  if (reactor === 'node') expect(text).toMatch(/^HTTP\/1\.1 408 /)
  else expect(text).toBe('')
}

/** Record log records (the concurrent cases share one handler). */
const records: LogRecord[] = []
setLogHandler((record) => records.push(record))

describe.each(REACTORS)('slow and surplus clients on the %s reactor', (reactor) => {
  describe.concurrent('each case', { timeout: 40_000 }, () => {
    it('a head sent a line at a time (slowloris) is cut off', async () => {
      const { port } = await start(reactor, LIMITS)
      const raw = await connectRaw(port)
      trickle(raw, 'GET /loris HTTP/1.1\r\nHost: x\r\n', (i) => `X-Slow-${i}: v\r\n`)
      expect(await endedByServer(raw, bound(reactor))).toBe(true)
      expectTimedOut(reactor, raw)
    })

    it('a connection that never sends anything is closed', async () => {
      const { port } = await start(reactor, LIMITS)
      const raw = await connectRaw(port)
      expect(await endedByServer(raw, bound(reactor))).toBe(true)
      expectTimedOut(reactor, raw)
    })

    it('a body sent a byte at a time is cut off and the app told', async () => {
      const { port, events } = await start(reactor, LIMITS)
      const raw = await connectRaw(port)
      const head = 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n'
      trickle(raw, head, () => 'x')
      expect(await endedByServer(raw, bound(reactor))).toBe(true)
      expectTimedOut(reactor, raw)
      await vi.waitFor(() => expect(events).toEqual(['disconnect /upload']))
    })

    it('an idle keep-alive connection is closed', async () => {
      const { port } = await start(reactor, LIMITS)
      const raw = await connectRaw(port)
      raw.write('GET /once HTTP/1.1\r\nHost: x\r\n\r\n')
      await raw.until((data) => data.toString().endsWith('ok'))
      expect(await endedByServer(raw, bound(reactor))).toBe(true)
    })

    it('the limits leave a slow answer and a long WebSocket alone', async () => {
      const { port, events } = await start(reactor, LIMITS, 1_500)
      const client = await openClient(`ws://127.0.0.1:${port}/ws`)
      const raw = await connectRaw(port)
      raw.write('GET /slow-answer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      const answer = (await raw.closed).toString('latin1')
      expect(answer).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\nok$/)
      expect(events).toEqual(['answered /slow-answer'])
      client.send('still open')
      expect(await client.next()).toBe('still open')
      client.close()
    })

    it('maxConnections: more connections are refused (node) or warned about (uWS)', async () => {
      const { port } = await start(reactor, { maxConnections: 2 })
      const warnings = () =>
        records.filter((r) => r.level === 'warn' && r.message.includes('maxConnections'))
      const first = await connectRaw(port)
      const second = await connectRaw(port)
      const third = await connectRaw(port)
      third.write('GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      if (reactor === 'node') {
        expect(await endedByServer(third, 4_000)).toBe(true)
        expect(third.received().length).toBe(0)
        await vi.waitFor(() =>
          expect(warnings().map((r) => r.message)).toContain(
            'Refused a connection: 2 connections open (maxConnections)',
          ),
        )
        first.destroy()
        // The freed slot serves the next client.
        await endedByServer(first, 4_000)
        const fourth = await connectRaw(port)
        fourth.write('GET /fourth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        expect((await fourth.closed).toString()).toMatch(/^HTTP\/1\.1 200 [^]*ok$/)
      } else {
        expect((await third.closed).toString()).toMatch(/^HTTP\/1\.1 200 /)
        expect(warnings().map((r) => r.message)).toContain(
          'maxConnections is not enforced on uWebSockets.js (it has no connection cap); ' +
            'use --reactor node for it',
        )
        first.destroy()
      }
      second.destroy()
    })
  })
})

describe('the limits as server options', () => {
  it('default to 10 s for a head, 60 s for a request, 5 s keep-alive and no connection cap', () => {
    const config = resolveServerConfig({})
    expect([config.headersTimeout, config.requestTimeout, config.keepAliveTimeout]).toEqual([
      10_000, 60_000, 5_000,
    ])
    expect(config.maxConnections).toBe(null)
    const never = resolveServerConfig({ headersTimeout: null, requestTimeout: null })
    expect([never.headersTimeout, never.requestTimeout]).toEqual([null, null])
  })

  it('refuse a head timeout above the request timeout, and a cap that is not a count', () => {
    expect(() => resolveServerConfig({ headersTimeout: 90_000 })).toThrow(
      'Server option headersTimeout (90000 ms) must not exceed requestTimeout (60000 ms)',
    )
    expect(() => resolveServerConfig({ maxConnections: 0 })).toThrow(/maxConnections/)
    expect(() => resolveServerConfig({ keepAliveTimeout: -1 })).toThrow(/keepAliveTimeout/)
  })
})
