// Send buffers over real sockets: clients that stop reading while their room is flooded are
// closed with 1008 once they hold more than the per-connection limit or the process-wide budget
// runs out; the close frame follows the data already queued, so a client that reads again gets
// it; one that never reads is cut off; the members that read lose nothing.
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { Receive, Scope, Send } from '../../src/framework/asgi/types.js'
import type { ReactorName } from '../../src/server/reactor/types.js'
import { REACTORS, useLogRecords, useServers, type RunningServer } from '../helpers/with-server.js'
import {
  connectRaw,
  decodeFrames,
  encodeFrame,
  handshakeRequest,
  type RawConnection,
} from '../helpers/ws-client.js'

const KiB = 1024
const MiB = 1024 * KiB
/** One flood round: this many binary messages of this size to every member. */
const ROUND_MESSAGES = 16
const MESSAGE_SIZE = 32 * KiB

/**
 * A room every WebSocket joins. A member's text `flood` sends one round to every member still
 * in the room, then `done` to the one that asked. Each member's disconnect is recorded.
 */
function roomApp() {
  const members = new Map<string, Send>()
  const disconnects = new Map<string, Record<string, unknown>>()
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    const path = (scope as { path: string }).path
    await receive()
    await send({ type: 'websocket.accept' })
    members.set(path, send)
    for (;;) {
      const message = (await receive()) as Record<string, unknown>
      if (message.type === 'websocket.disconnect') {
        members.delete(path)
        disconnects.set(path, message)
        return
      }
      for (let i = 0; i < ROUND_MESSAGES; i++) {
        const bytes = Buffer.alloc(MESSAGE_SIZE, i)
        for (const member of members.values()) await member({ type: 'websocket.send', bytes })
      }
      await send({ type: 'websocket.send', text: 'done' })
    }
  }
  return Object.assign(app, { members, disconnects })
}

/** A member that reads everything and counts the bytes of binary messages. */
interface Reader {
  ws: WebSocket
  bytes: number
  /** Resolves on the next `done`. */
  flood(): Promise<void>
}

async function openReader(url: string): Promise<Reader> {
  const ws = new WebSocket(url)
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  const reader: Reader = {
    ws,
    bytes: 0,
    flood() {
      ws.send('flood')
      return new Promise((resolve) => {
        const onDone = (data: Buffer, binary: boolean) => {
          if (binary || data.toString() !== 'done') return
          ws.off('message', onDone)
          resolve()
        }
        ws.on('message', onDone)
      })
    },
  }
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary) reader.bytes += data.byteLength
  })
  return reader
}

/** A member on a raw socket that stops reading right after the handshake. */
interface Sleeper {
  raw: RawConnection
  /** Opcodes of the whole frames received so far, and the close frame's payload once seen. */
  opcodes: number[]
  close: Buffer | null
}

async function openSleeper(running: RunningServer, path: string): Promise<Sleeper> {
  const raw = await connectRaw(running.port)
  raw.write(handshakeRequest(path))
  const head = await raw.until((data) => data.includes('\r\n\r\n'))
  raw.socket.pause()
  const sleeper: Sleeper = { raw, opcodes: [], close: null }
  // Frames are parsed as they arrive: the stream runs to tens of MiB.
  let pending = head.subarray(head.indexOf('\r\n\r\n') + 4)
  const parse = () => {
    for (;;) {
      const frame = decodeFrames(pending)[0]
      if (frame === undefined) return
      sleeper.opcodes.push(frame.opcode)
      if (frame.opcode === 0x8) sleeper.close = Buffer.from(frame.payload)
      const end = frame.payload.byteOffset + frame.payload.byteLength - pending.byteOffset
      pending = pending.subarray(end)
    }
  }
  raw.socket.on('data', (chunk: Buffer) => {
    pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk])
    parse()
  })
  parse()
  return sleeper
}

/**
 * The sleeper reads again: its close frame as [code, reason] once it arrived after whole data
 * frames only, or what went wrong (the connection ended first, or nothing came within 10 s).
 */
async function readCloseFrame(sleeper: Sleeper): Promise<[number, string] | string> {
  const { raw } = sleeper
  raw.socket.resume()
  const outcome = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('no close frame within 10 s'), 10_000)
    const check = () => {
      if (sleeper.close === null && !raw.socket.destroyed) return
      clearTimeout(timer)
      raw.socket.off('data', check)
      resolve(sleeper.close === null ? 'the connection ended without a close frame' : 'closed')
    }
    raw.socket.on('data', check)
    void raw.closed.then(check)
    check()
  })
  raw.destroy()
  if (sleeper.close === null) return outcome
  expect(sleeper.opcodes.slice(0, -1).every((opcode) => opcode === 0x2)).toBe(true)
  expect(sleeper.opcodes.at(-1)).toBe(0x8)
  return [sleeper.close.readUInt16BE(0), sleeper.close.subarray(2).toString()]
}

/** Flood rounds until every path in `offenders` left the room (the readers keep up each round). */
async function floodUntilGone(
  app: ReturnType<typeof roomApp>,
  readers: Reader[],
  offenders: string[],
): Promise<number> {
  let rounds = 0
  while (offenders.some((path) => !app.disconnects.has(path))) {
    if (++rounds > 400) throw new Error('the offenders were never closed')
    await readers[0]!.flood()
    const expected = rounds * ROUND_MESSAGES * MESSAGE_SIZE
    await expect.poll(() => readers.map((r) => r.bytes)).toEqual(readers.map(() => expected))
  }
  return rounds
}

describe.each(REACTORS)('send buffers on the %s reactor', (reactor: ReactorName) => {
  const start = useServers()
  const logs = useLogRecords()

  it('closes a member over websocketMaxBufferedBytes with 1008 after its data; readers lose nothing', async () => {
    const app = roomApp()
    const running = await start(app, {
      reactor,
      websocketMaxBufferedBytes: 2 * MiB,
      websocketBufferBudget: 0,
      // Long enough that the sleeper, reading only once the flood is over, is not cut off.
      websocketCloseTimeout: 60_000,
    })
    const sleeper = await openSleeper(running, '/sleeper')
    const readers = [
      await openReader(`${running.wsUrl}/reader-1`),
      await openReader(`${running.wsUrl}/reader-2`),
    ]
    const rounds = await floodUntilGone(app, readers, ['/sleeper'])
    expect(app.disconnects.get('/sleeper')).toMatchObject({ code: 1008 })
    expect(await readCloseFrame(sleeper)).toEqual([1008, 'Send buffer full'])
    expect(logs.some((r) => r.level === 'warn' && r.message.includes('send buffer'))).toBe(true)
    // The readers are still members and still served.
    await readers[1]!.flood()
    const expected = (rounds + 1) * ROUND_MESSAGES * MESSAGE_SIZE
    await expect.poll(() => readers.map((r) => r.bytes)).toEqual([expected, expected])
    expect([...app.members.keys()].sort()).toEqual(['/reader-1', '/reader-2'])
    for (const reader of readers) reader.ws.close()
  })

  it('cuts a closed member that never reads again off after websocketCloseTimeout', async () => {
    const app = roomApp()
    const running = await start(app, {
      reactor,
      websocketMaxBufferedBytes: 2 * MiB,
      websocketCloseTimeout: 200,
    })
    const sleeper = await openSleeper(running, '/sleeper')
    const readers = [await openReader(`${running.wsUrl}/reader`)]
    await floodUntilGone(app, readers, ['/sleeper'])
    // The sleeper reads nothing, so it cannot see a FIN; it pings instead, and once the server
    // has dropped the connection a ping is refused (reset) and the socket closes.
    const pinger = setInterval(() => sleeper.raw.write(encodeFrame(0x9, 'still here?')), 50)
    const ended = await Promise.race([
      sleeper.raw.closed.then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 10_000)),
    ])
    clearInterval(pinger)
    expect(ended).toBe(true)
    sleeper.raw.destroy()
    readers[0]!.ws.close()
  })

  it('closes the members holding the most once websocketBufferBudget is spent', async () => {
    const app = roomApp()
    const running = await start(app, {
      reactor,
      websocketMaxBufferedBytes: 0,
      websocketBufferBudget: 4 * MiB,
      websocketCloseTimeout: 60_000,
    })
    const sleepers = [await openSleeper(running, '/a'), await openSleeper(running, '/b')]
    const readers = [
      await openReader(`${running.wsUrl}/reader-1`),
      await openReader(`${running.wsUrl}/reader-2`),
    ]
    await floodUntilGone(app, readers, ['/a', '/b'])
    for (const path of ['/a', '/b']) expect(app.disconnects.get(path)).toMatchObject({ code: 1008 })
    for (const sleeper of sleepers) {
      expect(await readCloseFrame(sleeper)).toEqual([1008, 'Server send buffers full'])
    }
    const warnings = logs.filter((r) => r.level === 'warn' && r.message.includes('buffers full'))
    expect(warnings).toHaveLength(2)
    expect([...app.members.keys()].sort()).toEqual(['/reader-1', '/reader-2'])
    for (const reader of readers) reader.ws.close()
  })
})
