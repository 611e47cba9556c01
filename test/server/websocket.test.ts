// Daphne tests/test_websocket.py (TestWebsocket, TestHeaderValueInjection) and the
// WebSocket rules, with our documented fixes, on every reactor.
import { describe, expect, it } from 'vitest'
import { AsgiProtocolError } from '../../src/framework/asgi/errors.js'
import type { Receive, Send, WebSocketScope } from '../../src/framework/asgi/types.js'
import type { AccessEvent } from '../../src/server/index.js'
import { echoWebSocketApp, headerStrings } from '../helpers/asgi-apps.js'
import { REACTORS, useLogRecords, useServers } from '../helpers/with-server.js'
import {
  connectRaw,
  decodeFrames,
  encodeFrame,
  handshakeRequest,
  openClient,
  rawExchange,
} from '../helpers/ws-client.js'

const REQUIRED = ['asgi', 'type', 'path', 'raw_path', 'query_string', 'headers']
const OPTIONAL = [
  'scheme',
  'root_path',
  'client',
  'server',
  'subprotocols',
  'http_version',
  'state',
]

describe.each(REACTORS)('WebSocket on the %s reactor', (reactor) => {
  const start = useServers()
  const logs = useLogRecords()

  it('test_accept: 101, and the first message is exactly websocket.connect', async () => {
    const app = echoWebSocketApp()
    const { wsUrl, server } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`)
    client.close()
    await client.closed
    const { scope, messages } = app.calls[0]!
    expect(messages[0]).toEqual({ type: 'websocket.connect' })
    for (const key of REQUIRED) expect(scope).toHaveProperty(key)
    for (const key of Object.keys(scope)) expect([...REQUIRED, ...OPTIONAL]).toContain(key)
    const ws = scope as WebSocketScope
    expect(ws.scheme).toBe('ws')
    expect(ws.http_version).toBe('1.1')
    expect(ws.subprotocols).toEqual([])
    expect(ws.client?.[0]).toBe('127.0.0.1')
    await expect.poll(() => server.connectionCount).toBe(0)
  })

  it('test_reject: close before accept → exactly a 403 Access denied', async () => {
    const events: AccessEvent[] = []
    const app = echoWebSocketApp({ reject: true })
    const { port, server } = await start(app, { reactor, onAction: (e) => events.push(e) })
    const raw = (await rawExchange(port, handshakeRequest('/ws/x'))).toString('latin1')
    expect(raw).toMatch(/^HTTP\/1\.1 403 Access denied\r\n/)
    await expect
      .poll(() => events.map((e) => e.action))
      .toEqual(['connecting', 'rejected', 'disconnected'])
    await expect.poll(() => server.connectionCount).toBe(0)
  })

  it('test_subprotocols: the accepted one is sent back; the scope lists all offered', async () => {
    const app = echoWebSocketApp({ subprotocol: 'proto2' })
    const { wsUrl } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`, ['proto1', 'proto2'])
    expect(client.ws.protocol).toBe('proto2')
    expect((app.calls[0]!.scope as WebSocketScope).subprotocols).toEqual(['proto1', 'proto2'])
    client.close()
  })

  it('accepting a subprotocol the client did not offer is an AsgiProtocolError (→ 500)', async () => {
    const errors: unknown[] = []
    const app = async (_scope: unknown, receive: Receive, send: Send) => {
      await receive()
      await send({ type: 'websocket.accept', subprotocol: 'nope' }).catch((e: unknown) => {
        errors.push(e)
        throw e
      })
    }
    const { port } = await start(app, { reactor })
    const raw = (
      await rawExchange(port, handshakeRequest('/', { 'Sec-WebSocket-Protocol': 'chat' }))
    ).toString('latin1')
    expect(raw).toMatch(/^HTTP\/1\.1 500 /)
    expect(errors[0]).toBeInstanceOf(AsgiProtocolError)
    expect((errors[0] as Error).message).toContain("Subprotocol 'nope' was not offered")
  })

  it('accept headers are sent on the 101 (daphne#326 fixed)', async () => {
    const app = echoWebSocketApp({ headers: [[Buffer.from('set-cookie'), Buffer.from('sid=abc')]] })
    const { port } = await start(app, { reactor })
    const connection = await connectRaw(port)
    connection.write(handshakeRequest('/'))
    const head = (await connection.until((d) => d.includes('\r\n\r\n'))).toString('latin1')
    connection.destroy()
    expect(head).toMatch(/^HTTP\/1\.1 101 /)
    expect(head.toLowerCase()).toContain('set-cookie: sid=abc')
    expect(head.toLowerCase()).toContain('server: channels-ts')
  })

  it('test_xff: proxy headers set the client (and the scheme from the proto)', async () => {
    const app = echoWebSocketApp()
    const { wsUrl } = await start(app, { reactor, proxyHeaders: true })
    const client = await openClient(`${wsUrl}/`, [], {
      headers: {
        'X-Forwarded-For': '10.1.2.3',
        'X-Forwarded-Port': '80',
        'X-Forwarded-Proto': 'https',
      },
    })
    const scope = app.calls[0]!.scope as WebSocketScope
    expect(scope.client).toEqual(['10.1.2.3', 80])
    expect(scope.scheme).toBe('wss')
    client.close()
  })

  it('test_http_bits: path, query string and headers reach the scope', async () => {
    const app = echoWebSocketApp()
    const { wsUrl } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/te%20st/?foo=bar&x=1`, [], {
      headers: { 'X-Custom': 'a', 'X-Other': 'b' },
    })
    const scope = app.calls[0]!.scope as WebSocketScope
    expect(scope.path).toBe('/te st/')
    expect(Buffer.from(scope.query_string).toString()).toBe('foo=bar&x=1')
    expect(headerStrings(scope)).toEqual(
      expect.arrayContaining([
        ['x-custom', 'a'],
        ['x-other', 'b'],
      ]),
    )
    client.close()
  })

  it('test_raw_path', async () => {
    const app = echoWebSocketApp()
    const { wsUrl } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/foo%2Fbar`)
    const scope = app.calls[0]!.scope as WebSocketScope
    expect(scope.path).toBe('/foo/bar')
    expect(Buffer.from(scope.raw_path!).toString()).toBe('/foo%2Fbar')
    client.close()
  })

  it('test_root_path: Daphne-Root-Path header → root_path, header removed', async () => {
    const app = echoWebSocketApp()
    const { wsUrl } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`, [], {
      headers: { 'Daphne-Root-Path': '/some%20path' },
    })
    const scope = app.calls[0]!.scope as WebSocketScope
    expect(scope.root_path).toBe('/some path')
    expect(headerStrings(scope).map(([n]) => n)).not.toContain('daphne-root-path')
    client.close()
  })

  it('test_text_frames: text both ways, opcode 0x81 from the server', async () => {
    const app = echoWebSocketApp()
    const { port } = await start(app, { reactor })
    const connection = await connectRaw(port)
    connection.write(handshakeRequest('/'))
    await connection.until((d) => d.includes('\r\n\r\n'))
    connection.write(encodeFrame(0x1, 'what is here? 🌍'))
    const data = await connection.until((d) => decodeFrames(d).length > 0)
    const [frame] = decodeFrames(data)
    expect(data[data.indexOf('\r\n\r\n') + 4]).toBe(0x81)
    expect(frame!.payload.toString('utf8')).toBe('what is here? 🌍')
    expect(app.calls[0]!.messages[1]).toEqual({
      type: 'websocket.receive',
      text: 'what is here? 🌍',
    })
    connection.destroy()
  })

  it('test_binary_frames: non-UTF-8 bytes both ways', async () => {
    const app = echoWebSocketApp()
    const { wsUrl } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`)
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3])
    client.send(bytes)
    expect(await client.next()).toEqual(bytes)
    expect(app.calls[0]!.messages[1]).toEqual({ type: 'websocket.receive', bytes })
    client.close()
  })

  it('empty text and bytes messages are sent (Daphne drops them)', async () => {
    const app = echoWebSocketApp()
    const { wsUrl } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`)
    client.send('')
    expect(await client.next()).toBe('')
    client.send(Buffer.alloc(0))
    expect(await client.next()).toEqual(Buffer.alloc(0))
    client.close()
  })

  it('test_websocket_max_message_size: an oversized message gets 1009 and is never delivered', async () => {
    const app = echoWebSocketApp()
    const { wsUrl, server } = await start(app, { reactor, websocketMaxMessageSize: 8 })
    const client = await openClient(`${wsUrl}/`)
    client.send('x'.repeat(16))
    expect((await client.closed).code).toBe(1009)
    await expect
      .poll(() => app.calls[0]!.messages.map((m) => m.type))
      .toEqual(['websocket.connect', 'websocket.disconnect'])
    await expect.poll(() => server.connectionCount).toBe(0)
  })

  it('test_websocket_max_message_size_allows_under_limit', async () => {
    const app = echoWebSocketApp()
    const { wsUrl } = await start(app, { reactor, websocketMaxMessageSize: 64 })
    const client = await openClient(`${wsUrl}/`)
    client.send('y'.repeat(16))
    expect(await client.next()).toBe('y'.repeat(16))
    // Multi-byte text is measured in UTF-8 bytes: 22 × 3 = 66 > 64.
    client.send('€'.repeat(22))
    expect((await client.closed).code).toBe(1009)
  })

  it('test_http_timeout: http_timeout does not touch an accepted WebSocket', async () => {
    const app = echoWebSocketApp()
    const { wsUrl } = await start(app, { reactor, httpTimeout: 50 })
    const client = await openClient(`${wsUrl}/`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    client.send('still here')
    expect(await client.next()).toBe('still here')
    client.close()
  })

  it('test_application_checker_handles_asyncio_cancellederror: an app raising CancelledError is reaped', async () => {
    const { CancelledError } = await import('../../src/framework/asgi/errors.js')
    const app = async (_scope: unknown, receive: Receive, send: Send) => {
      await receive()
      await send({ type: 'websocket.accept' })
      throw new CancelledError()
    }
    const { wsUrl, server } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`)
    client.close()
    await client.closed
    await expect.poll(() => server.connectionCount).toBe(0)
    expect(logs.some((r) => r.message.startsWith('Exception inside application'))).toBe(false)
  })

  it('close after accept sends the code and the reason (daphne#374), any RFC-valid code', async () => {
    const app = echoWebSocketApp()
    const { wsUrl } = await start(app, { reactor })
    for (const code of [1000, 1001, 1008, 3000, 4999]) {
      const client = await openClient(`${wsUrl}/`)
      client.send(`close:${code}:bye now`)
      expect(await client.closed).toEqual({ code, reason: 'bye now' })
    }
    const last = app.calls.at(-1)!.messages.at(-1)
    expect(last).toMatchObject({ type: 'websocket.disconnect', code: 4999 })
  })

  it('an invalid close code is an AsgiProtocolError out of send() (→ 1011)', async () => {
    const errors: unknown[] = []
    const app = async (_scope: unknown, receive: Receive, send: Send) => {
      await receive()
      await send({ type: 'websocket.accept' })
      await send({ type: 'websocket.close', code: 1005 }).catch((e: unknown) => {
        errors.push(e)
        throw e
      })
    }
    const { wsUrl } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`)
    expect((await client.closed).code).toBe(1011)
    expect(errors[0]).toBeInstanceOf(AsgiProtocolError)
    expect((errors[0] as Error).message).toMatch(/Invalid WebSocket close code 1005/)
  })

  it('state guards: send before accept, accept twice, both text and bytes, unknown types, no type', async () => {
    const errors: string[] = []
    const attempt = (p: Promise<void>) =>
      p.catch((e: unknown) => {
        const { name, message } = e as Error
        errors.push(`${name}: ${message}`)
      })
    const app = async (_scope: unknown, receive: Receive, send: Send) => {
      await receive()
      await attempt(send({ type: 'websocket.send', text: 'too early' }))
      await attempt(send({ type: 'websocket.nope' } as never))
      await attempt(send({ text: 'no type' } as never))
      await send({ type: 'websocket.accept' })
      await attempt(send({ type: 'websocket.accept' }))
      await attempt(send({ type: 'websocket.send', text: 'a', bytes: Buffer.from('b') } as never))
      await attempt(send({ type: 'websocket.send' } as never))
      await send({ type: 'websocket.send', text: 'done' })
      await receive()
    }
    const { wsUrl } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`)
    expect(await client.next()).toBe('done')
    expect(errors).toEqual([
      "AsgiProtocolError: Socket has not been accepted, so cannot send over it: expected ASGI message 'websocket.accept' or 'websocket.close', but got 'websocket.send'.",
      "AsgiProtocolError: Expected ASGI message 'websocket.accept' or 'websocket.close', but got 'websocket.nope'.",
      'ValueError: Message has no type defined',
      "AsgiProtocolError: Expected ASGI message 'websocket.send' or 'websocket.close', but got 'websocket.accept'.",
      "AsgiProtocolError: Invalid 'websocket.send' message: it contains both 'bytes' and 'text' keys.",
      "AsgiProtocolError: Invalid 'websocket.send' message: it contains neither 'bytes' nor 'text'.",
    ])
    client.close()
  })

  it('sends after the client left are silent no-ops', async () => {
    let outcome: unknown = 'pending'
    let typeless: unknown = 'pending'
    const app = async (_scope: unknown, receive: Receive, send: Send) => {
      await receive()
      await send({ type: 'websocket.accept' })
      expect(await receive()).toMatchObject({ type: 'websocket.disconnect' })
      outcome = await send({ type: 'websocket.send', text: 'nobody listens' }).then(
        () => 'resolved',
        (e: unknown) => e,
      )
      // Still an error: a message without a type is wrong whenever it is sent (Daphne too).
      typeless = await send({} as never).then(
        () => 'resolved',
        (e: unknown) => (e as Error).message,
      )
    }
    const { wsUrl, server } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`)
    client.close(1000)
    await expect.poll(() => outcome).toBe('resolved')
    await expect.poll(() => typeless).toBe('Message has no type defined')
    await expect.poll(() => server.connectionCount).toBe(0)
  })

  it('disconnect carries the peer code (1005 without one, 1006 when dropped)', async () => {
    const app = echoWebSocketApp()
    const { wsUrl, port } = await start(app, { reactor })
    const a = await openClient(`${wsUrl}/`)
    a.close(4321, 'later')
    await expect
      .poll(() => app.calls[0]!.messages.at(-1))
      .toMatchObject({ type: 'websocket.disconnect', code: 4321 })
    const b = await openClient(`${wsUrl}/`)
    b.close()
    await expect
      .poll(() => app.calls[1]!.messages.at(-1))
      .toMatchObject({ type: 'websocket.disconnect', code: 1005 })
    const c = await connectRaw(port)
    c.write(handshakeRequest('/'))
    await c.until((d) => d.includes('\r\n\r\n'))
    c.destroy()
    await expect
      .poll(() => app.calls[2]?.messages.at(-1))
      .toMatchObject({ type: 'websocket.disconnect', code: 1006 })
  })

  it('emits connecting, connected and disconnected access events', async () => {
    const events: AccessEvent[] = []
    const { wsUrl } = await start(echoWebSocketApp(), { reactor, onAction: (e) => events.push(e) })
    const client = await openClient(`${wsUrl}/ws/x?q=1`)
    client.close()
    await expect
      .poll(() => events.map((e) => e.action))
      .toEqual(['connecting', 'connected', 'disconnected'])
    expect(events[0]).toMatchObject({ protocol: 'websocket', path: '/ws/x', rawPath: '/ws/x' })
    // uWS reports no peer port: the log shows the address alone, never `127.0.0.1:0`.
    const expected = reactor === 'uws' ? /^127\.0\.0\.1$/ : /^127\.0\.0\.1:[1-9]\d*$/
    expect(events[0]!.client).toMatch(expected)
  })

  it('websocket_timeout closes the connection with 1000', async () => {
    const { wsUrl } = await start(echoWebSocketApp(), { reactor, websocketTimeout: 150 })
    const client = await openClient(`${wsUrl}/`)
    expect((await client.closed).code).toBe(1000)
  })

  it('an app that returns after accept gets its socket closed with 1000', async () => {
    const app = async (_scope: unknown, receive: Receive, send: Send) => {
      await receive()
      await send({ type: 'websocket.accept' })
    }
    const { wsUrl, server } = await start(app, { reactor })
    const client = await openClient(`${wsUrl}/`)
    expect((await client.closed).code).toBe(1000)
    await expect.poll(() => server.connectionCount).toBe(0)
  })

  describe('TestHeaderValueInjection', () => {
    // node:http (bare 400) or our check (400 page) answer 400. uWebSockets.js 20.30's parser
    // refuses control bytes itself and never answers: the request just never reaches the app.
    const expectRefused = (raw: string) => {
      if (reactor === 'node' || raw !== '') expect(raw).toMatch(/^HTTP\/1\.1 400/)
    }
    for (const byte of ['\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\x85']) {
      const label = `0x${byte.charCodeAt(0).toString(16)}`
      it(`test_websocket_upgrade_rejects_smuggled_headers (${label})`, async () => {
        const app = echoWebSocketApp()
        const { port } = await start(app, { reactor })
        const request = handshakeRequest('/', { 'X-Padding': `a${byte}X-Secret-Auth: admin` })
        const raw = (await rawExchange(port, Buffer.from(request, 'latin1'), 1_000)).toString(
          'latin1',
        )
        expect(raw).not.toContain('X-Secret-Auth')
        expect(app.calls).toHaveLength(0)
        expectRefused(raw)
      })

      it(`test_http_request_rejects_invalid_header_value_bytes (${label})`, async () => {
        const app = echoWebSocketApp()
        const { port } = await start(app, { reactor })
        const request = `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Padding: a${byte}b\r\n\r\n`
        const raw = (await rawExchange(port, Buffer.from(request, 'latin1'), 1_000)).toString(
          'latin1',
        )
        expect(app.calls).toHaveLength(0)
        expectRefused(raw)
      })
    }
  })
})
