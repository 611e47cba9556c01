// WebSocket protocol errors and close codes over raw sockets writing exact frames (RFC 6455
// §5.5.1, §7.4), on every reactor. The node reactor (ws) answers as the RFC asks; where
// uWebSockets.js 20.30 decides itself and nothing above it can change that, the test states what
// it does (README, "Known limits of the uWebSockets.js reactor").
import { describe, expect, it } from 'vitest'
import type { ReactorName } from '../../src/server/reactor/types.js'
import { echoWebSocketApp } from '../helpers/asgi-apps.js'
import { REACTORS, useServers } from '../helpers/with-server.js'
import {
  connectRaw,
  decodeFrames,
  encodeFrame,
  handshakeRequest,
  openClient,
  type RawConnection,
} from '../helpers/ws-client.js'

/** A close frame's payload: the code, then the reason. */
function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason))
  payload.writeUInt16BE(code, 0)
  payload.write(reason, 2)
  return payload
}

/**
 * Everything the server sent after its 101, once it ended the connection (5 s at most). A close
 * frame from the server is answered, as a client does: ws waits for that before it ends.
 */
async function framesUntilEnd(raw: RawConnection) {
  const timer = setTimeout(() => raw.destroy(), 5_000)
  const answer = () => {
    const close = decodeFrames(raw.received()).find((frame) => frame.opcode === 0x8)
    if (close === undefined) return
    raw.socket.off('data', answer)
    raw.write(encodeFrame(0x8, close.payload))
  }
  raw.socket.on('data', answer)
  answer()
  const data = await raw.closed
  clearTimeout(timer)
  return decodeFrames(data)
}

/** What the server's close frames carried: a code, or null for a frame without one. */
function closeCodes(frames: ReturnType<typeof decodeFrames>): (number | null)[] {
  return frames
    .filter((frame) => frame.opcode === 0x8)
    .map((frame) => (frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null))
}

/** uWS 20.30 accepts 1000–1011 (but 1004–1006) and 4000–4999 only (its parseClosePayload). */
function uwsTakesCode(code: number): boolean {
  return (code >= 1000 && code <= 1011 && (code < 1004 || code > 1006)) || code >= 4000
}

describe.each(REACTORS)('WebSocket protocol on the %s reactor', (reactor: ReactorName) => {
  const start = useServers()

  async function openRaw(port: number, path: string): Promise<RawConnection> {
    const raw = await connectRaw(port)
    raw.write(handshakeRequest(path))
    const head = await raw.until((d) => d.includes('\r\n\r\n'))
    expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /)
    return raw
  }

  for (const code of [1000, 1001, 1003, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    it(`echoes the valid close code ${code} and tells the app${uwsTakesCode(code) ? '' : ' (uWS: 1006 and a close without a code)'}`, async () => {
      const app = echoWebSocketApp()
      const running = await start(app, { reactor })
      const raw = await openRaw(running.port, `/close/${code}`)
      raw.write(encodeFrame(0x8, closePayload(code, 'bye')))
      const frames = await framesUntilEnd(raw)
      const disconnect = () => app.calls[0]!.messages.at(-1)
      await expect.poll(() => disconnect()?.type).toBe('websocket.disconnect')
      if (reactor === 'uws' && !uwsTakesCode(code)) {
        // uWS 20.30 takes 1012–1014 and 3000–3999 for invalid codes, answers without one and
        // reports 1006, before any handler of ours runs.
        expect(closeCodes(frames)).toEqual([null])
        expect(disconnect()).toEqual({ type: 'websocket.disconnect', code: 1006 })
      } else {
        expect(closeCodes(frames)).toEqual([code])
        expect(disconnect()).toEqual({ type: 'websocket.disconnect', code, reason: 'bye' })
      }
    })
  }

  for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000]) {
    it(`answers the invalid close code ${code} with 1002${reactor === 'uws' ? ' (uWS: a close without a code)' : ''}`, async () => {
      const app = echoWebSocketApp()
      const running = await start(app, { reactor })
      const raw = await openRaw(running.port, `/close/${code}`)
      raw.write(encodeFrame(0x8, closePayload(code)))
      const frames = await framesUntilEnd(raw)
      expect(closeCodes(frames)).toEqual([reactor === 'uws' ? null : 1002])
      const disconnect = () => app.calls[0]!.messages.at(-1)
      await expect.poll(() => disconnect()?.type).toBe('websocket.disconnect')
      // The connection failed rather than closed (ws, like autobahn, reports 1006 for it).
      expect(disconnect()?.code).toBe(1006)
    })
  }

  const violations: [string, Buffer][] = [
    ['reserved bits set', Buffer.from([0xf1, 0x82, 0, 0, 0, 0, 0x68, 0x69])],
    ['an unknown opcode', encodeFrame(0x3, 'hi')],
    ['a fragmented ping', encodeFrame(0x9, 'hi', { fin: false })],
    ['a continuation with nothing to continue', encodeFrame(0x0, 'hi')],
    ['a ping longer than 125 bytes', encodeFrame(0x9, Buffer.alloc(126))],
  ]
  for (const [label, frame] of violations) {
    it(`fails the connection on ${label}: 1002${reactor === 'uws' ? ' (uWS: no close frame)' : ''}`, async () => {
      const app = echoWebSocketApp()
      const running = await start(app, { reactor })
      const bystander = await openClient(`${running.wsUrl}/bystander`)
      const raw = await openRaw(running.port, '/bad')
      raw.write(frame)
      const frames = await framesUntilEnd(raw)
      // uWS 20.30 ends the TCP connection at once, without a close frame.
      expect(closeCodes(frames)).toEqual(reactor === 'uws' ? [] : [1002])
      const bad = app.calls.find((c) => (c.scope as { path: string }).path === '/bad')!
      await expect.poll(() => bad.messages.at(-1)?.type).toBe('websocket.disconnect')
      expect(bad.messages.at(-1)?.code).toBe(1006)
      expect(bad.messages.some((m) => m.type === 'websocket.receive')).toBe(false)
      bystander.send('still here')
      expect(await bystander.next()).toBe('still here')
      bystander.close()
      await bystander.closed
    })
  }

  it('closes with 1009 on a message far over websocketMaxMessageSize, never delivering it', async () => {
    const app = echoWebSocketApp()
    const running = await start(app, { reactor, websocketMaxMessageSize: 1024 })
    for (const size of [1025, 64 * 1024, 1024 * 1024]) {
      const raw = await openRaw(running.port, `/big/${size}`)
      raw.write(encodeFrame(0x2, Buffer.alloc(size, 1)))
      expect(closeCodes(await framesUntilEnd(raw))).toEqual([1009])
    }
    for (const call of app.calls) {
      expect(call.messages.some((m) => m.type === 'websocket.receive')).toBe(false)
      await expect.poll(() => call.messages.at(-1)?.code).toBe(1009)
    }
  })

  it(`a message past the reactor's own ceiling (the limit + 1 MiB) ends with ${reactor === 'uws' ? 'no close frame (uWS)' : '1009'}`, async () => {
    const app = echoWebSocketApp()
    const running = await start(app, { reactor, websocketMaxMessageSize: 1024 })
    const raw = await openRaw(running.port, '/huge')
    raw.write(encodeFrame(0x2, Buffer.alloc(1024 + 1024 * 1024 + 1, 1)))
    expect(closeCodes(await framesUntilEnd(raw))).toEqual(reactor === 'uws' ? [] : [1009])
    const call = app.calls[0]!
    await expect.poll(() => call.messages.at(-1)?.type).toBe('websocket.disconnect')
    expect(call.messages.some((m) => m.type === 'websocket.receive')).toBe(false)
  })
})
