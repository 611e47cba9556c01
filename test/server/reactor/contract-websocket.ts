/**
 * Contract: WebSockets. Deferred upgrade (accept with subprotocol and headers, reject), messages,
 * close in every direction, ping/pong, backpressure and the payload ceiling.
 * @module
 */
import { createHash } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import type { ReactorName } from '../../../src/server/reactor/types.js'
import { SendResult } from '../../../src/server/reactor/types.js'
import {
  connectRaw,
  decodeFrames,
  encodeFrame,
  handshakeRequest,
  openClient,
  WS_KEY,
} from '../../helpers/ws-client.js'
import { collector, headOf, OPTIONS, recordSocket, type Harness } from './harness.js'

/** RFC 6455's accept value for a key. */
function acceptFor(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
}

/** Listen with every upgrade accepted into `record` (echoing unless told otherwise). */
async function acceptAll(harness: () => Harness, record = recordSocket({ echo: true })) {
  const listener = await harness().listen({
    onUpgrade: (_request, _protocols, upgrade) => upgrade.accept({}, record.handlers),
  })
  return { listener, record, url: `ws://127.0.0.1:${listener.port}/ws` }
}

export function websocketContract(name: ReactorName, harness: () => Harness): void {
  describe('websocket', () => {
    it('defers the upgrade until accept, with subprotocol and extra headers in the 101', async () => {
      const { upgrades, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write(
        handshakeRequest('/chat/?room=1', { 'Sec-WebSocket-Protocol': 'alpha, beta ,gamma' }),
      )
      await vi.waitFor(() => expect(upgrades).toHaveLength(1))
      const { request, subprotocols, upgrade } = upgrades[0]!
      expect(request.url).toBe('/chat/?room=1')
      expect(request.headers[request.headers.indexOf('origin') + 1]).toBe('http://example.com')
      expect(subprotocols).toEqual(['alpha', 'beta', 'gamma'])
      // Nothing is answered while the server decides.
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(raw.received().byteLength).toBe(0)
      const record = recordSocket()
      upgrade.accept({ subprotocol: 'beta', headers: [['X-Extra', 'hello']] }, record.handlers)
      const data = await raw.until((d) => d.includes('\r\n\r\n'))
      const head = headOf(data)
      expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/)
      expect(head.split('\r\n')).toContain(`Sec-WebSocket-Accept: ${acceptFor(WS_KEY)}`)
      expect(head).toMatch(/\r\nSec-WebSocket-Protocol: beta(\r\n|$)/i)
      expect(head).toMatch(/\r\nX-Extra: hello(\r\n|$)/i)
      expect(head).toMatch(/\r\nUpgrade: websocket/i)
      expect(head).not.toMatch(/Sec-WebSocket-Extensions/i)
      await vi.waitFor(() => expect(record.events).toEqual([{ type: 'open' }]))
      raw.destroy()
      await vi.waitFor(() =>
        expect(record.closes()).toEqual([{ code: 1006, reason: expect.any(String) }]),
      )
    })

    it('sends each accept its own headers: a shared frozen list, then a list changed in place', async () => {
      const { upgrades, handlers } = collector()
      const listener = await harness().listen(handlers)
      const shared = Object.freeze([Object.freeze(['X-Shared', 'one'])]) as unknown as [
        string,
        string,
      ][]
      const mutable: [string, string][] = [['X-Mutable', 'before']]
      const heads: string[] = []
      const accepts: [string, string][][] = [shared, shared, mutable, mutable]
      for (const [index, headers] of accepts.entries()) {
        if (index === 3) mutable[0]![1] = 'after\r\nX-Injected: 1'
        const raw = await connectRaw(listener.port)
        raw.write(handshakeRequest('/'))
        await vi.waitFor(() => expect(upgrades).toHaveLength(index + 1))
        upgrades[index]!.upgrade.accept({ headers }, recordSocket().handlers)
        heads.push(headOf(await raw.until((d) => d.includes('\r\n\r\n'))))
        raw.destroy()
      }
      expect(heads[0]).toMatch(/\r\nX-Shared: one(\r\n|$)/i)
      expect(heads[1]).toMatch(/\r\nX-Shared: one(\r\n|$)/i)
      expect(heads[2]).toMatch(/\r\nX-Mutable: before(\r\n|$)/i)
      expect(heads[2]).not.toMatch(/X-Shared/i)
      expect(heads[3]).toMatch(/\r\nX-Mutable: after X-Injected: 1(\r\n|$)/i)
      expect(heads[3]).not.toMatch(/\r\nX-Injected/i)
    })

    it('lets a ws client see the chosen subprotocol', async () => {
      const record = recordSocket()
      const listener = await harness().listen({
        onUpgrade: (_request, protocols, upgrade) =>
          setTimeout(
            () => upgrade.accept({ subprotocol: protocols[1] ?? null }, record.handlers),
            10,
          ),
      })
      const client = await openClient(`ws://127.0.0.1:${listener.port}/`, ['one', 'two'])
      expect(client.ws.protocol).toBe('two')
      client.close()
      await client.closed
    })

    it('rejects with the given status: HTTP/1.1 403 Access denied', async () => {
      const { upgrades, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write(handshakeRequest('/'))
      await vi.waitFor(() => expect(upgrades).toHaveLength(1))
      upgrades[0]!.upgrade.reject(
        { status: 403, reason: 'Access denied', headers: [['Content-Type', 'text/plain']] },
        Buffer.from('denied'),
      )
      const data = await raw.closed
      expect(headOf(data)).toMatch(/^HTTP\/1\.1 403 Access denied\r\n/)
      expect(data.toString()).toMatch(/\r\n\r\ndenied$/)
      // Calls after the decision are no-ops.
      upgrades[0]!.upgrade.accept({}, recordSocket().handlers)
    })

    it('tells onAborted when the client leaves before the decision', async () => {
      const { upgrades, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write(handshakeRequest('/'))
      await vi.waitFor(() => expect(upgrades).toHaveLength(1))
      let aborted = 0
      upgrades[0]!.upgrade.onAborted(() => aborted++)
      raw.destroy()
      await vi.waitFor(() => expect(aborted).toBe(1))
      const record = recordSocket()
      upgrades[0]!.upgrade.accept({}, record.handlers)
      expect(record.events).toEqual([])
    })

    it('round-trips text and binary messages', async () => {
      const { url, record } = await acceptAll(harness)
      const client = await openClient(url)
      client.send('héllo ☃')
      expect(await client.next()).toBe('héllo ☃')
      client.send(Buffer.from([0, 1, 2, 255]))
      const echoed = await client.next()
      expect(Buffer.isBuffer(echoed) && [...echoed]).toEqual([0, 1, 2, 255])
      expect(record.events.slice(0, 2)).toEqual([
        { type: 'open' },
        { type: 'text', text: 'héllo ☃' },
      ])
      const binary = record.events[2] as { type: string; data: Uint8Array }
      expect(binary.type).toBe('binary')
      expect(binary.data).toBeInstanceOf(Uint8Array)
      expect([...binary.data]).toEqual([0, 1, 2, 255])
      client.close()
      await client.closed
    })

    it('keeps a leading byte-order mark in text frames and close reasons', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      client.send('\ufeffbom')
      await vi.waitFor(() => expect(record.events).toHaveLength(2))
      expect(record.events[1]).toEqual({ type: 'text', text: '\ufeffbom' })
      client.ws.close(4000, '\ufeffbye')
      await vi.waitFor(() => expect(record.closes()).toEqual([{ code: 4000, reason: '\ufeffbye' }]))
    })

    it('copies message bytes: a held Uint8Array survives an await and another message', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      client.send(Buffer.alloc(64, 0x41))
      await vi.waitFor(() => expect(record.events).toHaveLength(2))
      const held = (record.events[1] as { data: Uint8Array }).data
      await new Promise((resolve) => setTimeout(resolve, 10))
      client.send(Buffer.alloc(64, 0x42))
      client.send('a text message in between')
      await vi.waitFor(() => expect(record.events).toHaveLength(4))
      expect(Buffer.from(held).equals(Buffer.alloc(64, 0x41))).toBe(true)
      expect([...(record.events[2] as { data: Uint8Array }).data]).toEqual(Array(64).fill(0x42))
      client.close()
      await client.closed
    })

    it('close(code, reason) reaches the client and onClose once, at once', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      await vi.waitFor(() => expect(record.events).toEqual([{ type: 'open' }]))
      record.socket().close(4000, 'server says bye')
      expect(record.closes()).toEqual([{ code: 4000, reason: 'server says bye' }])
      expect(await client.closed).toEqual({ code: 4000, reason: 'server says bye' })
      // After close everything is a harmless no-op.
      expect(record.socket().send('late')).toBe(SendResult.DROPPED)
      record.socket().close(1000)
      record.socket().terminate()
      record.socket().ping()
      expect(record.socket().bufferedAmount()).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(record.closes()).toHaveLength(1)
    })

    it('cuts a long close reason at a character boundary (123 bytes at most)', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      await vi.waitFor(() => expect(record.events).toHaveLength(1))
      record.socket().close(4001, 'é'.repeat(100))
      expect(await client.closed).toEqual({ code: 4001, reason: 'é'.repeat(61) })
      expect(record.closes()).toEqual([{ code: 4001, reason: 'é'.repeat(61) }])
    })

    for (const code of [1005, 1006, 999, 2000]) {
      it(`sends a status-less close frame for unsendable code ${code}`, async () => {
        const { url, record } = await acceptAll(harness, recordSocket())
        const client = await openClient(url)
        await vi.waitFor(() => expect(record.events).toHaveLength(1))
        record.socket().close(code, 'ignored')
        expect(await client.closed).toEqual({ code: 1005, reason: '' })
        expect(record.closes()).toEqual([{ code: 1005, reason: '' }])
      })
    }

    it('terminate() drops the connection: the client sees 1006', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      await vi.waitFor(() => expect(record.events).toHaveLength(1))
      record.socket().terminate()
      expect(record.closes()).toEqual([{ code: 1006, reason: expect.any(String) }])
      expect((await client.closed).code).toBe(1006)
    })

    it("passes the client's close code and reason to onClose", async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      client.close(4321, 'client leaving')
      await client.closed
      await vi.waitFor(() =>
        expect(record.closes()).toEqual([{ code: 4321, reason: 'client leaving' }]),
      )
    })

    it('reports 1005 for a close frame without a code', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      client.ws.close()
      await client.closed
      await vi.waitFor(() => expect(record.closes()).toEqual([{ code: 1005, reason: '' }]))
    })

    it('reports 1006 when the TCP connection drops without a close frame', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      await vi.waitFor(() => expect(record.events).toHaveLength(1))
      client.ws.terminate()
      await vi.waitFor(() =>
        expect(record.closes()).toEqual([{ code: 1006, reason: expect.any(String) }]),
      )
    })

    it('ping() gets a pong that reaches onPong', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      await vi.waitFor(() => expect(record.events).toHaveLength(1))
      let pinged = false
      client.ws.on('ping', () => (pinged = true))
      record.socket().ping()
      await vi.waitFor(() => expect(record.events).toContainEqual({ type: 'pong' }))
      expect(pinged).toBe(true)
      client.close()
      await client.closed
    })

    it('sends several messages in one cork', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      await vi.waitFor(() => expect(record.events).toHaveLength(1))
      const socket = record.socket()
      socket.cork(() => {
        expect(socket.send('one')).toBe(SendResult.SUCCESS)
        socket.send(new Uint8Array([2]))
      })
      expect(await client.next()).toBe('one')
      expect(await client.next()).toEqual(Buffer.from([2]))
      client.close()
      await client.closed
    })

    it('reports backpressure, drops over maxBackpressure, and calls onDrain', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      await vi.waitFor(() => expect(record.events).toHaveLength(1))
      const socket = record.socket()
      // Stop reading on the client so the server's buffer fills.
      ;(client.ws as unknown as { _socket: import('node:net').Socket })._socket.pause()
      const big = Buffer.alloc(OPTIONS.maxBackpressure * 4, 1)
      const results: SendResult[] = []
      for (let i = 0; i < 200 && !results.includes(SendResult.DROPPED); i++)
        results.push(socket.send(big))
      expect(results).toContain(SendResult.BACKPRESSURE)
      expect(results.at(-1)).toBe(SendResult.DROPPED)
      expect(socket.bufferedAmount()).toBeGreaterThan(OPTIONS.maxBackpressure)
      const sent = results.filter((r) => r !== SendResult.DROPPED).length
      let received = 0
      client.ws.on('message', () => received++)
      ;(client.ws as unknown as { _socket: import('node:net').Socket })._socket.resume()
      await vi.waitFor(() => expect(record.events).toContainEqual({ type: 'drain' }), 10_000)
      await vi.waitFor(() => expect(received).toBe(sent), 10_000)
      client.close()
      await client.closed
    })

    it('close() queues its frame after the data still queued, even past maxBackpressure', async () => {
      const { url, record } = await acceptAll(harness, recordSocket())
      const client = await openClient(url)
      await vi.waitFor(() => expect(record.events).toHaveLength(1))
      const socket = record.socket()
      const tcp = (client.ws as unknown as { _socket: import('node:net').Socket })._socket
      tcp.pause()
      const big = Buffer.alloc(OPTIONS.maxBackpressure, 1)
      let sent = 0
      for (let i = 0; i < 400 && socket.send(big) !== SendResult.DROPPED; i++) sent++
      expect(socket.bufferedAmount()).toBeGreaterThan(OPTIONS.maxBackpressure)
      socket.close(4008, 'too slow')
      expect(record.closes()).toEqual([{ code: 4008, reason: 'too slow' }])
      let received = 0
      client.ws.on('message', () => received++)
      tcp.resume()
      expect(await client.closed).toEqual({ code: 4008, reason: 'too slow' })
      expect(received).toBe(sent)
      expect(record.closes()).toHaveLength(1)
    })

    it('cuts a closing connection off when its client reads nothing for closeTimeout', async () => {
      const { listener, record } = await acceptAll(harness, recordSocket())
      const raw = await connectRaw(listener.port)
      raw.write(handshakeRequest('/'))
      await raw.until((d) => d.includes('\r\n\r\n'))
      await vi.waitFor(() => expect(record.events).toHaveLength(1))
      raw.socket.pause()
      const socket = record.socket()
      const big = Buffer.alloc(OPTIONS.maxBackpressure, 1)
      for (let i = 0; i < 400 && socket.send(big) !== SendResult.DROPPED; i++);
      socket.close(4008, 'too slow')
      // A paused client sees no FIN: it pings, and a ping to a dropped connection is reset.
      const pinger = setInterval(() => raw.write(encodeFrame(0x9, 'there?')), 50)
      const cut = await Promise.race([
        raw.closed.then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), 10_000)),
      ])
      clearInterval(pinger)
      expect(cut).toBe(true)
      expect(record.closes()).toEqual([{ code: 4008, reason: 'too slow' }])
    })

    it('ends the connection on a message over maxPayloadLength without affecting others', async () => {
      const records: ReturnType<typeof recordSocket>[] = []
      const listener = await harness().listen({
        onUpgrade(_request, _protocols, upgrade) {
          const record = recordSocket({ echo: true })
          records.push(record)
          upgrade.accept({}, record.handlers)
        },
      })
      const url = `ws://127.0.0.1:${listener.port}/`
      const bystander = await openClient(url)
      const client = await openClient(url)
      await vi.waitFor(() => expect(records[1]?.events).toEqual([{ type: 'open' }]))
      client.send(Buffer.alloc(OPTIONS.maxPayloadLength + 1))
      const { code } = await client.closed
      // uWS ends the TCP connection without a close frame; ws sends 1009 (see contract.ts).
      expect(code).toBe(name === 'uws' ? 1006 : 1009)
      await vi.waitFor(() => expect(records[1]!.closes()).toHaveLength(1))
      expect(records[1]!.events.some((e) => e.type === 'binary')).toBe(false)
      bystander.send('still here')
      expect(await bystander.next()).toBe('still here')
      bystander.close()
      await bystander.closed
    })

    it('ends the connection on invalid UTF-8 in a text frame', async () => {
      const { listener, record } = await acceptAll(harness, recordSocket())
      const raw = await connectRaw(listener.port)
      raw.write(handshakeRequest('/'))
      await raw.until((d) => d.includes('\r\n\r\n'))
      raw.write(encodeFrame(0x1, Buffer.from([0x68, 0xff, 0xfe])))
      const data = await raw.closed
      await vi.waitFor(() => expect(record.closes()).toHaveLength(1))
      expect(record.events.filter((e) => e.type === 'text')).toEqual([])
      // uWS drops the TCP connection without a close frame (see contract.ts); ws sends 1007.
      const closeCodes = decodeFrames(data)
        .filter((f) => f.opcode === 0x8)
        .map((f) => f.payload.readUInt16BE(0))
      expect(closeCodes).toEqual(name === 'uws' ? [] : [1007])
      if (name === 'uws') expect(record.closes()[0]!.code).toBe(1006)
    })

    it('survives an unmasked client frame', async () => {
      const { listener, record } = await acceptAll(harness, recordSocket())
      const raw = await connectRaw(listener.port)
      raw.write(handshakeRequest('/'))
      await raw.until((d) => d.includes('\r\n\r\n'))
      // Four trailing bytes: uWS 20.30 reads an unmasked frame's first payload bytes as a mask
      // key (it does not enforce client masking) and would otherwise wait for them.
      raw.write(Buffer.concat([encodeFrame(0x1, 'unmasked', { mask: false }), Buffer.from('1234')]))
      if (name === 'uws') raw.write(encodeFrame(0x8, Buffer.from([0x0f, 0xa0])))
      const data = await raw.closed
      await vi.waitFor(() => expect(record.closes()).toHaveLength(1))
      const closeCodes = decodeFrames(data)
        .filter((f) => f.opcode === 0x8)
        .map((f) => f.payload.readUInt16BE(0))
      // ws closes with 1002 (protocol error); uWS misreads the frame and closes when asked.
      expect(closeCodes).toEqual(name === 'uws' ? [4000] : [1002])
    })

    it('keeps a second connection working while the first is pending', async () => {
      const { upgrades, handlers } = collector()
      const listener = await harness().listen(handlers)
      const first = new WebSocket(`ws://127.0.0.1:${listener.port}/1`)
      first.on('error', () => undefined)
      await vi.waitFor(() => expect(upgrades).toHaveLength(1))
      const second = new WebSocket(`ws://127.0.0.1:${listener.port}/2`)
      await vi.waitFor(() => expect(upgrades).toHaveLength(2))
      const record = recordSocket({ echo: true })
      upgrades[1]!.upgrade.accept({}, record.handlers)
      await new Promise((resolve) => second.once('open', resolve))
      second.send('hi')
      const reply = await new Promise<string>((resolve) =>
        second.once('message', (d) => resolve((d as Buffer).toString())),
      )
      expect(reply).toBe('hi')
      second.close()
      first.terminate()
    })
  })
}
