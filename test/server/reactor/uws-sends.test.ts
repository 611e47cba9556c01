// WebSocket sends on the uWS reactor, batched (held until the event-loop turn ends) and
// immediate (each written at once, the plain path): the same scenarios through both, and the
// same frames at a real `ws` client.
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import type { ReactorOptions, ReactorWebSocket } from '../../../src/server/reactor/types.js'
import { SendResult } from '../../../src/server/reactor/types.js'
import { getUws, UwsReactor, type UwsSendMode } from '../../../src/server/reactor/uws.js'
import { recordSocket, type SocketRecord } from './harness.js'

const KiB = 1024

const OPTIONS: ReactorOptions = {
  maxPayloadLength: 64 * KiB,
  maxBackpressure: 64 * KiB,
  closeTimeout: 2_000,
}

/** What the client saw: messages in order (binary as hex), then the close. */
type Frame = { text: string } | { binary: string } | { close: [number, string] }

/** A frame as the client will see a payload the server sent. */
function frameOf(data: string | Uint8Array): Frame {
  return typeof data === 'string' ? { text: data } : { binary: Buffer.from(data).toString('hex') }
}

interface Pair {
  reactor: UwsReactor
  record: SocketRecord
  /** The server's side, once open. */
  socket: ReactorWebSocket
  client: WebSocket
  /** The client's TCP socket: pause it to stop reading. */
  tcp: Socket
  frames: Frame[]
  /** Resolves with the client's close. */
  closed: Promise<[number, string]>
}

const reactors: UwsReactor[] = []
afterEach(async () => {
  for (const reactor of reactors.splice(0)) await reactor.stop()
})

/** A reactor in `mode`, one accepted connection, and a `ws` client recording every frame. */
async function openPair(mode: UwsSendMode, options: ReactorOptions = OPTIONS): Promise<Pair> {
  const reactor = new UwsReactor(options, getUws(), mode)
  reactors.push(reactor)
  const record = recordSocket()
  const listener = await reactor.listen(
    { kind: 'tcp', host: '127.0.0.1', port: 0 },
    {
      onRequest: (_request, response) => response.end(),
      onUpgrade: (_request, _protocols, upgrade) => upgrade.accept({}, record.handlers),
    },
  )
  const port = listener.address.kind === 'tcp' ? listener.address.port : 0
  const client = new WebSocket(`ws://127.0.0.1:${port}/`)
  const frames: Frame[] = []
  client.on('message', (data: Buffer, isBinary: boolean) => {
    frames.push(isBinary ? { binary: data.toString('hex') } : { text: data.toString() })
  })
  const closed = new Promise<[number, string]>((resolve) => {
    client.on('close', (code: number, reason: Buffer) => {
      frames.push({ close: [code, reason.toString()] })
      resolve([code, reason.toString()])
    })
  })
  client.on('error', () => undefined)
  await new Promise((resolve) => client.once('open', resolve))
  await vi.waitFor(() => expect(record.events).toEqual([{ type: 'open' }]))
  const tcp = (client as unknown as { _socket: Socket })._socket
  return { reactor, record, socket: record.socket(), client, tcp, frames, closed }
}

/** One turn of the event loop (the batch flushes in it). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

/** Mixed text and binary payloads, small enough to be held. */
function payloads(count: number, size = 8): (string | Uint8Array)[] {
  return Array.from({ length: count }, (_, i) =>
    i % 3 === 2 ? Buffer.alloc(size, i % 256) : `${i}:`.padEnd(size, 'é'),
  )
}

describe.each<UwsSendMode>(['batched', 'immediate'])('uWS sends, %s', (mode) => {
  it('keeps the order of text and binary messages within a turn and across turns', async () => {
    const pair = await openPair(mode)
    const sent = payloads(30)
    for (const data of sent.slice(0, 10)) expect(pair.socket.send(data)).toBe(SendResult.SUCCESS)
    await nextTurn()
    for (const data of sent.slice(10, 20)) pair.socket.send(data)
    pair.socket.cork(() => {
      for (const data of sent.slice(20)) pair.socket.send(data)
    })
    pair.socket.close(1000, 'done')
    expect(await pair.closed).toEqual([1000, 'done'])
    expect(pair.frames).toEqual([...sent.map(frameOf), { close: [1000, 'done'] }])
  })

  it('delivers many messages sent in one turn, past what a socket holds', async () => {
    const pair = await openPair(mode)
    const sent = payloads(3000, 40)
    for (const data of sent) expect(pair.socket.send(data)).not.toBe(SendResult.DROPPED)
    pair.socket.close(4000, 'many')
    await pair.closed
    expect(pair.frames).toEqual([...sent.map(frameOf), { close: [4000, 'many'] }])
  })

  it('keeps small messages in order around one too big to hold', async () => {
    const pair = await openPair(mode)
    const sent = ['before', Buffer.alloc(40 * KiB, 7), 'after', Buffer.alloc(20 * KiB, 8), 'end']
    for (const data of sent) pair.socket.send(data)
    pair.socket.close(1000)
    await pair.closed
    expect(pair.frames).toEqual([...sent.map(frameOf), { close: [1000, ''] }])
  })

  it('sends the close frame after the messages of its turn, and drops sends after it', async () => {
    const pair = await openPair(mode)
    pair.socket.send('one')
    pair.socket.send(Buffer.from([1, 2]))
    pair.socket.close(4001, 'bye')
    // The server hears of its own close at once, and only once.
    expect(pair.record.closes()).toEqual([{ code: 4001, reason: 'bye' }])
    expect(pair.socket.send('late')).toBe(SendResult.DROPPED)
    expect(pair.socket.bufferedAmount()).toBe(0)
    pair.socket.ping()
    await pair.closed
    await nextTurn()
    expect(pair.frames).toEqual([{ text: 'one' }, { binary: '0102' }, { close: [4001, 'bye'] }])
    expect(pair.record.closes()).toHaveLength(1)
  })

  it('writes a reply after what its socket holds', async () => {
    const pair = await openPair(mode)
    pair.record.handlers.onText = (text) => void pair.socket.send(`reply to ${text}`)
    await new Promise<void>((resolve) => {
      setTimeout(() => {
        pair.client.send('ask')
        pair.socket.send('held 1')
        pair.socket.send('held 2')
        // The message reaches the server's kernel; uWS dispatches it in this turn's poll.
        const until = Date.now() + 30
        while (Date.now() < until);
        resolve()
      }, 0)
    })
    await vi.waitFor(() => expect(pair.frames).toHaveLength(3))
    expect(pair.frames).toEqual([{ text: 'held 1' }, { text: 'held 2' }, { text: 'reply to ask' }])
    pair.socket.send('after')
    await vi.waitFor(() => expect(pair.frames.slice(3)).toEqual([{ text: 'after' }]))
    pair.client.close(1000)
    await pair.closed
  })

  it('answers a ping after the messages sent before it', async () => {
    const pair = await openPair(mode)
    const seen: string[] = []
    pair.client.on('message', (data: Buffer) => seen.push(data.toString()))
    pair.client.on('ping', () => seen.push('ping'))
    pair.socket.send('first')
    pair.socket.ping()
    pair.socket.send('second')
    await vi.waitFor(() => expect(seen).toEqual(['first', 'ping', 'second']))
    pair.client.close()
    await pair.closed
  })

  it('drops over a small maxBackpressure; the client gets exactly what was taken', async () => {
    const pair = await openPair(mode, { ...OPTIONS, maxBackpressure: 8 * KiB })
    pair.tcp.pause()
    const results: SendResult[] = []
    const accepted: Frame[] = []
    for (let i = 0; i < 20_000 && results.at(-1) !== SendResult.DROPPED; i++) {
      const data = i % 2 === 0 ? `${i}`.padEnd(2 * KiB, '.') : Buffer.alloc(2 * KiB, i % 256)
      const result = pair.socket.send(data)
      results.push(result)
      if (result !== SendResult.DROPPED) accepted.push(frameOf(data))
    }
    expect(results.at(-1)).toBe(SendResult.DROPPED)
    expect(results.slice(0, -1)).not.toContain(SendResult.DROPPED)
    expect(pair.socket.bufferedAmount()).toBeGreaterThan(8 * KiB)
    // The server closes the way its send limit does: the frame follows what was taken.
    pair.socket.close(1008, 'Send buffer full')
    pair.tcp.resume()
    await pair.closed
    expect(pair.frames).toEqual([...accepted, { close: [1008, 'Send buffer full'] }])
  })

  it('serves a slow client: all in order, with backpressure and onDrain', async () => {
    const pair = await openPair(mode, { ...OPTIONS, maxBackpressure: 0 })
    pair.tcp.pause()
    const sent: (string | Uint8Array)[] = []
    let backpressure = 0
    for (let turn = 0; turn < 60; turn++) {
      for (const data of payloads(40, turn % 2 === 0 ? KiB : 10 * KiB)) {
        sent.push(data)
        if (pair.socket.send(data) === SendResult.BACKPRESSURE) backpressure++
      }
      await nextTurn()
    }
    expect(backpressure).toBeGreaterThan(0)
    // It reads again, in fits and starts.
    let reading = false
    const reader = setInterval(() => {
      reading = !reading
      if (reading) pair.tcp.resume()
      else pair.tcp.pause()
    }, 5)
    try {
      await vi.waitFor(() => expect(pair.frames).toHaveLength(sent.length), 20_000)
    } finally {
      clearInterval(reader)
      pair.tcp.resume()
    }
    expect(pair.frames).toEqual(sent.map(frameOf))
    await vi.waitFor(() => expect(pair.record.events).toContainEqual({ type: 'drain' }))
    pair.client.close()
    await pair.closed
  })

  it('forgets what a socket holds when its client is gone before the turn ends', async () => {
    const pair = await openPair(mode)
    await new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        try {
          // The client's FIN reaches the server's kernel before the server's loop reads it.
          pair.client.terminate()
          const until = Date.now() + 30
          while (Date.now() < until);
          expect(pair.socket.send('into the void')).toBe(SendResult.SUCCESS)
          resolve()
        } catch (error) {
          reject(error)
        }
      }, 0)
    })
    await vi.waitFor(() => expect(pair.record.closes()).toHaveLength(1))
    await nextTurn()
    await nextTurn()
    expect(pair.record.closes()[0]!.code).toBe(1006)
  })

  it('terminate() and stop() drop what a socket holds, touching no closed socket', async () => {
    const first = await openPair(mode)
    first.socket.send('held')
    first.socket.terminate()
    expect(first.record.closes()).toEqual([{ code: 1006, reason: expect.any(String) }])
    const second = await openPair(mode)
    second.socket.send('held')
    await second.reactor.stop()
    await nextTurn()
    expect(second.record.closes()).toEqual([{ code: 1006, reason: expect.any(String) }])
    expect((await first.closed)[0]).toBe(1006)
    expect((await second.closed)[0]).toBe(1006)
  })
})

describe('uWS sends, batched only', () => {
  it('holds a turn’s messages: bufferedAmount counts them until the turn ends', async () => {
    const pair = await openPair('batched')
    pair.socket.send('héllo')
    pair.socket.send(Buffer.alloc(10))
    expect(pair.socket.bufferedAmount()).toBe(Buffer.byteLength('héllo') + 10)
    await nextTurn()
    expect(pair.socket.bufferedAmount()).toBe(0)
    await vi.waitFor(() => expect(pair.frames).toHaveLength(2))
    pair.client.close()
    await pair.closed
  })
})
