/**
 * Valid HTTP that uWebSockets.js 20.30 does not serve (issue 13 item 4), over raw sockets on
 * both reactors: HTTP/1.0, more than 48 request headers (plain requests and upgrades), extension
 * and lower-case methods, absolute-form targets, and pipelining behind an asynchronous answer.
 * The node reactor serves each of them; on uWS each test shows what happens instead (no answer,
 * the connection ends, nothing reaches the app, other clients are served meanwhile). uWS only
 * gives up on the hung ones on its ~10 s HTTP idle timeout, so the cases run concurrently on one
 * server per reactor.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { HttpScope, Receive, Scope, Send } from '../../src/framework/asgi/types.js'
import type { ReactorName } from '../../src/server/reactor/types.js'
import { createServer, type Server } from '../../src/server/index.js'
import { REACTORS, useLogRecords, useServers } from '../helpers/with-server.js'
import { connectRaw, handshakeRequest } from '../helpers/ws-client.js'

/** uWS's idle timeout is ~10 s with a 4 s granularity: a hung request is over well within 30 s. */
const HUNG_LIMIT = 30_000

/** An app that answers `METHOD path http_version header-count`, /slow ones after 100 ms. */
function describingApp() {
  const seen: HttpScope[] = []
  const disconnected: string[] = []
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type === 'websocket') {
      await receive()
      await send({ type: 'websocket.accept' })
      while (((await receive()) as { type: string }).type !== 'websocket.disconnect');
      return
    }
    if (scope.type !== 'http') return
    seen.push(scope)
    while (((await receive()) as { more_body?: boolean }).more_body);
    if (scope.path === '/slow') {
      await sleep(100)
      // The uWS connection is gone by now: the app is told.
      const next = (await Promise.race([receive(), sleep(50, null)])) as { type: string } | null
      if (next?.type === 'http.disconnect') {
        disconnected.push(scope.path)
        return
      }
    }
    const text = `${scope.method} ${scope.path} ${scope.http_version} ${scope.headers.length}`
    await send({
      type: 'http.response.start',
      status: 200,
      headers: [[Buffer.from('content-length'), Buffer.from(String(text.length))]],
    })
    await send({ type: 'http.response.body', body: Buffer.from(text) })
  }
  return { app, seen, disconnected }
}

/** What came back on one raw connection, and whether the server (not our limit) ended it. */
interface Outcome {
  text: string
  closedByServer: boolean
}

/** Write `bytes` on a fresh connection and wait (up to `limit`) for the server to close it. */
async function exchange(port: number, bytes: string, limit = HUNG_LIMIT): Promise<Outcome> {
  const raw = await connectRaw(port)
  raw.write(Buffer.from(bytes, 'latin1'))
  let closedByServer = true
  const timer = setTimeout(() => {
    closedByServer = false
    raw.destroy()
  }, limit)
  const data = await raw.closed
  clearTimeout(timer)
  return { text: data.toString('latin1'), closedByServer }
}

/** `n` extra header lines. */
function extraHeaders(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `X-Extra-${i}: value-${i}`)
}

function request(line: string, headers: string[] = []): string {
  return `${[line, 'Host: 127.0.0.1', ...headers].join('\r\n')}\r\n\r\n`
}

/** The response bodies in a raw answer (every body here is `METHOD /path …`). */
function bodies(text: string): string[] {
  return [...text.matchAll(/\r\n\r\n([A-Za-z]+ \/\S* \d\.\d \d+)/g)].map((m) => m[1]!)
}

function suite(reactor: ReactorName): void {
  const { app, seen, disconnected } = describingApp()
  let server: Server
  let port = 0

  beforeAll(async () => {
    server = createServer(app, ['tcp:port=0:interface=127.0.0.1'], {
      reactor,
      lifespan: 'off',
      applicationCloseTimeout: 2_000,
    })
    const started = await server.start()
    const address = started.listeners[0]!.address
    port = 'port' in address ? address.port : 0
  })
  afterAll(() => server.stop())

  /** While a uWS connection hangs, everyone else is served. */
  async function servedMeanwhile(path: string) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`)
    expect(await response.text()).toMatch(new RegExp(`^GET ${path} 1\\.1 \\d+$`))
  }

  function paths(): string[] {
    return seen.map((scope) => scope.path)
  }

  /** uWS: no answer, the connection ends, the request never reached the app. */
  function expectRefused(outcome: Outcome, path: string) {
    expect(outcome).toEqual({ text: '', closedByServer: true })
    expect(paths()).not.toContain(path)
  }

  describe.concurrent('each case', { timeout: 40_000 }, () => {
    it('an HTTP/1.0 request (nginx proxy_pass default)', async () => {
      const answer = exchange(port, request('GET /v10?x=1 HTTP/1.0'))
      await servedMeanwhile('/during-v10')
      const outcome = await answer
      if (reactor === 'node') {
        expect(outcome.closedByServer).toBe(true)
        expect(outcome.text).toMatch(/^HTTP\/1\.1 200 /)
        expect(bodies(outcome.text)).toEqual(['GET /v10 1.0 1'])
        expect(seen.find((scope) => scope.path === '/v10')?.http_version).toBe('1.0')
      } else {
        expectRefused(outcome, '/v10')
      }
    })

    it('a request with 60 headers', async () => {
      const answer = exchange(
        port,
        request('GET /many HTTP/1.1', ['Connection: close', ...extraHeaders(58)]),
      )
      await servedMeanwhile('/during-many')
      const outcome = await answer
      if (reactor === 'node') {
        expect(bodies(outcome.text)).toEqual(['GET /many 1.1 60'])
      } else {
        expectRefused(outcome, '/many')
      }
    })

    it('48 headers are served on both', async () => {
      const outcome = await exchange(
        port,
        request('GET /forty-eight HTTP/1.1', ['Connection: close', ...extraHeaders(46)]),
      )
      expect(bodies(outcome.text)).toEqual(['GET /forty-eight 1.1 48'])
    })

    it('a WebSocket upgrade with 60 headers', async () => {
      const extra = Object.fromEntries(
        extraHeaders(54).map((line) => line.split(': ') as [string, string]),
      )
      const handshake = handshakeRequest('/ws-many', extra)
      expect(handshake.split('\r\n').filter(Boolean).length - 1).toBe(60)
      if (reactor === 'node') {
        const raw = await connectRaw(port)
        raw.write(handshake)
        const head = await raw.until((data) => data.includes('\r\n\r\n'))
        expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /)
        raw.destroy()
      } else {
        const answer = exchange(port, handshake)
        await servedMeanwhile('/during-ws-many')
        expect(await answer).toEqual({ text: '', closedByServer: true })
      }
    })

    for (const method of ['PURGE', 'PROPFIND', 'get']) {
      it(`the method ${method}`, async () => {
        const path = `/method-${method}`
        const line = `${method} ${path} HTTP/1.1`
        const outcome = await exchange(port, request(line, ['Connection: close']))
        await servedMeanwhile(`/after-${method}`)
        if (reactor === 'uws') expectRefused(outcome, path)
        else if (method === 'get') {
          // llhttp knows methods by their upper-case names only.
          expect(outcome.text).toMatch(/^HTTP\/1\.1 400 /)
          expect(paths()).not.toContain(path)
        } else expect(bodies(outcome.text)).toEqual([`${method} ${path} 1.1 2`])
      })
    }

    it('an absolute-form target', async () => {
      const answer = exchange(
        port,
        request(`GET http://127.0.0.1:${port}/absolute?q=1 HTTP/1.1`, ['Connection: close']),
      )
      await servedMeanwhile('/during-absolute')
      const outcome = await answer
      if (reactor === 'node') {
        expect(bodies(outcome.text)).toEqual(['GET /absolute 1.1 2'])
      } else {
        expectRefused(outcome, '/absolute')
      }
    })

    it('two pipelined requests, the first answered asynchronously', async () => {
      const outcome = await exchange(
        port,
        request('GET /slow HTTP/1.1') + request('GET /pipelined HTTP/1.1', ['Connection: close']),
      )
      await servedMeanwhile('/after-pipeline')
      if (reactor === 'node') {
        expect(bodies(outcome.text)).toEqual(['GET /slow 1.1 1', 'GET /pipelined 1.1 2'])
      } else {
        // uWS 20.30 closes a connection that sends a request before the last one was answered.
        expectRefused(outcome, '/pipelined')
        await vi.waitFor(() => expect(disconnected).toContain('/slow'))
      }
    })
  })
}

describe.each(REACTORS)('valid HTTP on the %s reactor', (reactor) => {
  suite(reactor)
})

describe.each(REACTORS)('the HTTP/1.0 warning on the %s reactor', (reactor) => {
  const start = useServers()
  const logs = useLogRecords()
  const http10 = () => logs.filter((r) => r.level === 'warn' && r.message.includes('HTTP/1.0'))

  it('is given at startup behind a proxy (proxy headers) on uWS only', async () => {
    const running = await start(describingApp().app, { reactor, proxyHeaders: true })
    if (reactor === 'uws') {
      expect(http10().map((r) => r.message)).toEqual([
        'uWebSockets.js answers HTTP/1.1 only: an HTTP/1.0 request gets no answer. Behind ' +
          "nginx set 'proxy_http_version 1.1;' (README: Behind a proxy), or use --reactor node",
      ])
    } else {
      expect(http10()).toEqual([])
    }
    // Either way, the proxy's HTTP/1.1 requests are served.
    const outcome = await exchange(
      running.port,
      request('GET /proxied HTTP/1.1', ['Connection: close', 'X-Forwarded-For: 10.0.0.1']),
    )
    expect(bodies(outcome.text)).toEqual(['GET /proxied 1.1 3'])
  })

  it('is not given for a server facing clients directly', async () => {
    await start(describingApp().app, { reactor })
    expect(http10()).toEqual([])
  })
})
