/**
 * Bad input over real sockets: every case ends with a fresh client being
 * served and `connectionCount` back at 0. Run once per reactor by bad-input-*.test.ts.
 */
import { expect, it } from 'vitest'
import type { Receive, Send } from '../../src/framework/asgi/types.js'
import type { ReactorName } from '../../src/server/reactor/types.js'
import type { AccessEvent } from '../../src/server/index.js'
import { echoWebSocketApp } from '../helpers/asgi-apps.js'
import { useLogRecords, useServers, type RunningServer } from '../helpers/with-server.js'
import {
  connectRaw,
  encodeFrame,
  handshakeRequest,
  openClient,
  rawExchange,
  type RawConnection,
} from '../helpers/ws-client.js'

/** An app serving HTTP 200 "ok" and echo WebSockets, used to check the server is still healthy. */
function healthyApp(ws = echoWebSocketApp()) {
  return async (scope: { type: string }, receive: Receive, send: Send) => {
    if (scope.type === 'websocket') return ws(scope as never, receive, send)
    for (;;) {
      const message = (await receive()) as { type: string; more_body?: boolean }
      if (message.type === 'http.disconnect') return
      if (!message.more_body) break
    }
    await send({ type: 'http.response.start', status: 200 })
    await send({ type: 'http.response.body', body: Buffer.from('ok') })
  }
}

async function expectHealthy(running: RunningServer) {
  const client = await openClient(`${running.wsUrl}/health`)
  client.send('ping?')
  expect(await client.next()).toBe('ping?')
  client.close()
  await client.closed
  expect((await fetch(`${running.url}/health`)).status).toBe(200)
  await expect.poll(() => running.server.connectionCount).toBe(0)
}

async function openRaw(port: number, path = '/'): Promise<RawConnection> {
  const connection = await connectRaw(port)
  connection.write(handshakeRequest(path))
  const head = await connection.until((d) => d.includes('\r\n\r\n'))
  expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /)
  return connection
}

/** The bad-input suite for one reactor. */
export function runBadInputSuite(reactor: ReactorName): void {
  const start = useServers()
  const logs = useLogRecords()

  it('a handshake without Sec-WebSocket-Key gets 400', async () => {
    const running = await start(healthyApp(), { reactor })
    const request = handshakeRequest('/').replace(/Sec-WebSocket-Key: .*\r\n/, '')
    const raw = (await rawExchange(running.port, request, 2_000)).toString('latin1')
    expect(raw).toMatch(/^HTTP\/1\.1 400/)
    await expectHealthy(running)
  })

  it('a wrong Sec-WebSocket-Version gets 426 with Sec-WebSocket-Version: 13', async () => {
    const running = await start(healthyApp(), { reactor })
    const raw = (await rawExchange(running.port, handshakeRequest('/', {}, '8'), 2_000)).toString(
      'latin1',
    )
    expect(raw).toMatch(/^HTTP\/1\.1 426/)
    expect(raw.toLowerCase()).toContain('sec-websocket-version: 13')
    await expectHealthy(running)
  })

  it('an incomplete handshake (client leaves mid-headers) and garbage bytes harm nothing', async () => {
    const running = await start(healthyApp(), { reactor })
    const partial = await connectRaw(running.port)
    partial.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnec')
    partial.destroy()
    const garbage = await connectRaw(running.port)
    garbage.write(Buffer.from([0x00, 0x01, 0xff, 0x16, 0x03, 0x01, 0x0d, 0x0a, 0x0d, 0x0a]))
    const timer = setTimeout(() => garbage.destroy(), 2_000)
    await garbage.closed
    clearTimeout(timer)
    await expectHealthy(running)
  })

  it('a client leaving before the app decides: the app sees websocket.disconnect', async () => {
    let seen: unknown[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const app = async (_scope: unknown, receive: Receive) => {
      seen = [await receive()]
      await gate
      seen.push(await receive())
    }
    const running = await start(
      async (scope, receive, send) => {
        if ((scope as { path: string }).path === '/health' || scope.type === 'http')
          return healthyApp()(scope, receive, send)
        return app(scope, receive)
      },
      { reactor },
    )
    const connection = await connectRaw(running.port)
    connection.write(handshakeRequest('/slow'))
    await expect.poll(() => seen.length).toBe(1)
    connection.destroy()
    release()
    await expect
      .poll(() => seen)
      .toEqual([{ type: 'websocket.connect' }, { type: 'websocket.disconnect', code: 1006 }])
    await expectHealthy(running)
  })

  it('an unmasked client frame ends the connection, is logged, and nothing else is affected', async () => {
    const events: AccessEvent[] = []
    const echo = echoWebSocketApp()
    // node (ws) fails the connection at once (1002). uWebSockets.js 20.30 reads the frame as if
    // masked and stalls waiting for bytes that never come, so the ping timeout is what ends it.
    const running = await start(healthyApp(echo), {
      reactor,
      onAction: (e) => events.push(e),
      pingInterval: 200,
      pingTimeout: 1_000,
    })
    const bystander = await openClient(`${running.wsUrl}/bystander`)
    const connection = await openRaw(running.port, '/bad')
    connection.write(encodeFrame(0x1, 'not masked', { mask: false }))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      connection.destroy()
    }, 5_000)
    await connection.closed
    clearTimeout(timer)
    expect(timedOut).toBe(false)
    const bad = echo.calls.find((c) => (c.scope as { path: string }).path === '/bad')!
    await expect.poll(() => bad.messages.at(-1)?.type).toBe('websocket.disconnect')
    expect([1002, 1006]).toContain(bad.messages.at(-1)?.code)
    expect(bad.messages.some((m) => m.type === 'websocket.receive')).toBe(false)
    await expect
      .poll(() => events.some((e) => e.action === 'disconnected' && e.path === '/bad'))
      .toBe(true)
    bystander.send('still fine')
    expect(await bystander.next()).toBe('still fine')
    bystander.close()
    await expectHealthy(running)
  })

  it('a message over the size limit gets 1009 and is never delivered', async () => {
    const echo = echoWebSocketApp()
    const running = await start(healthyApp(echo), { reactor, websocketMaxMessageSize: 1024 })
    const client = await openClient(`${running.wsUrl}/big`)
    client.send(Buffer.alloc(1025, 1))
    expect((await client.closed).code).toBe(1009)
    expect(logs.some((r) => r.message.includes('closing with 1009'))).toBe(true)
    // Past the reactor's own ceiling (the limit + 1 MiB) the connection ends (uWS cannot send a
    // close frame then).
    const huge = await openClient(`${running.wsUrl}/huge`)
    huge.send(Buffer.alloc(1024 + 1024 * 1024 + 1, 2))
    expect([1006, 1009]).toContain((await huge.closed).code)
    for (const call of echo.calls)
      expect(call.messages.some((m) => m.type === 'websocket.receive')).toBe(false)
    await expectHealthy(running)
  })

  it('invalid UTF-8 in a text frame: 1007 where the reactor can, else the connection ends', async () => {
    const echo = echoWebSocketApp()
    const running = await start(healthyApp(echo), { reactor })
    const connection = await openRaw(running.port, '/utf8')
    connection.write(encodeFrame(0x1, Buffer.from([0xc3, 0x28, 0xff])))
    const timer = setTimeout(() => connection.destroy(), 5_000)
    const data = await connection.closed
    clearTimeout(timer)
    const frames = data.subarray(data.indexOf('\r\n\r\n') + 4)
    if (frames.length >= 4 && frames[0] === 0x88) expect(frames.readUInt16BE(2)).toBe(1007)
    const call = echo.calls.find((c) => (c.scope as { path: string }).path === '/utf8')!
    await expect.poll(() => call.messages.at(-1)?.type).toBe('websocket.disconnect')
    expect(call.messages.some((m) => m.type === 'websocket.receive')).toBe(false)
    await expectHealthy(running)
  })

  it('header injection characters get 400 and never reach the app', async () => {
    const echo = echoWebSocketApp()
    const running = await start(healthyApp(echo), { reactor })
    // 0x85 passes both HTTP parsers; the server's own check refuses it.
    const request = handshakeRequest('/inject', { 'X-Padding': 'a\x85X-Secret-Auth: admin' })
    const raw = (await rawExchange(running.port, Buffer.from(request, 'latin1'), 2_000)).toString(
      'latin1',
    )
    expect(raw).toMatch(/^HTTP\/1\.1 400/)
    expect(raw).toContain('Invalid header value')
    expect(echo.calls).toHaveLength(0)
    await expectHealthy(running)
  })

  it('a consumer that throws: 500 before accept, 1011 after, logged with its stack', async () => {
    const running = await start(
      async (scope, receive, send) => {
        const path = (scope as { path: string }).path
        if (path === '/health' || scope.type === 'http') return healthyApp()(scope, receive, send)
        await receive()
        if (path === '/before') throw new Error('kaboom before accept')
        await send({ type: 'websocket.accept' })
        await receive()
        throw new Error('kaboom after accept')
      },
      { reactor },
    )
    const raw = (await rawExchange(running.port, handshakeRequest('/before'))).toString('latin1')
    expect(raw).toMatch(/^HTTP\/1\.1 500 /)
    const client = await openClient(`${running.wsUrl}/after`)
    client.send('trigger')
    expect((await client.closed).code).toBe(1011)
    const errors = logs.filter(
      (r) => r.level === 'error' && r.message.startsWith('Exception inside application: kaboom'),
    )
    expect(errors).toHaveLength(2)
    expect((errors[0]!.error as Error).stack).toContain('kaboom before accept')
    await expectHealthy(running)
  })

  it('a consumer that never accepts: the handshake times out with 403 and a warning', async () => {
    const running = await start(
      async (scope, receive, send) => {
        if ((scope as { path: string }).path === '/health' || scope.type === 'http')
          return healthyApp()(scope, receive, send)
        await receive()
        await receive() // the disconnect after the timeout reject
      },
      { reactor, websocketHandshakeTimeout: 150 },
    )
    const raw = (await rawExchange(running.port, handshakeRequest('/never'))).toString('latin1')
    expect(raw).toMatch(/^HTTP\/1\.1 403 Access denied/)
    expect(
      logs.some((r) => r.level === 'warn' && r.message.includes('neither accepted nor closed')),
    ).toBe(true)
    await expectHealthy(running)
  })

  it('a peer that stops answering pings is dropped: disconnect 1006', async () => {
    const echo = echoWebSocketApp()
    const running = await start(healthyApp(echo), { reactor, pingInterval: 100, pingTimeout: 200 })
    const connection = await openRaw(running.port, '/silent')
    // The raw client reads pings but never answers them.
    await connection.until((d) => d.subarray(d.indexOf('\r\n\r\n') + 4).includes(0x89), 3_000)
    const timer = setTimeout(() => connection.destroy(), 5_000)
    await connection.closed
    clearTimeout(timer)
    const call = echo.calls.find((c) => (c.scope as { path: string }).path === '/silent')!
    await expect
      .poll(() => call.messages.at(-1))
      .toEqual({ type: 'websocket.disconnect', code: 1006 })
    await expectHealthy(running)
  })

  it('a live peer answering pings stays connected', async () => {
    const echo = echoWebSocketApp()
    const running = await start(healthyApp(echo), { reactor, pingInterval: 50, pingTimeout: 1_000 })
    const client = await openClient(`${running.wsUrl}/alive`)
    let pings = 0
    client.ws.on('ping', () => pings++)
    await expect.poll(() => pings, { timeout: 3_000 }).toBeGreaterThanOrEqual(3)
    client.send('still open')
    expect(await client.next()).toBe('still open')
    client.close()
    await expectHealthy(running)
  })

  it('a client that disconnects mid-request: http.disconnect is delivered, the app is not left hanging', async () => {
    const seen: string[] = []
    const running = await start(
      async (scope, receive, send) => {
        if ((scope as { path: string }).path !== '/upload')
          return healthyApp()(scope, receive, send)
        for (;;) {
          const message = (await receive()) as { type: string }
          seen.push(message.type)
          if (message.type === 'http.disconnect') return
        }
      },
      { reactor },
    )
    const connection = await connectRaw(running.port)
    connection.write(
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'a'.repeat(1000),
    )
    await expect.poll(() => seen.length).toBeGreaterThan(0)
    connection.destroy()
    await expect.poll(() => seen.at(-1)).toBe('http.disconnect')
    await expectHealthy(running)
  })
}
