/**
 * The project's WebSocket load generator (Node + `ws`), the same three modes as the Go
 * `wsbench` the targets are judged with (docs/performance.md), so either can drive a run:
 *   node dist/bench/loadgen.js echo   --url ws://127.0.0.1:8000/ws/echo/ -c 50 -d 5000 --size 64
 *   node dist/bench/loadgen.js fanout --url ws://127.0.0.1:8000/ws/chat/bench/ -c 1000 -m 100 --every 5
 *   node dist/bench/loadgen.js conn   --url ws://127.0.0.1:8000/ws/echo/ -n 10000 -k 64 --hold 4000
 * `conn` opens its sockets with a bare-socket handshake (bench/raw-handshake.ts: faster than `ws`,
 * whose slower pace leaves the server idle in between); `--client ws` uses `ws` instead.
 * Each mode prints one final `RESULT key=value …` line (conn also prints `OPENED n` once all are
 * open, so a runner can sample the server while they are held). Durations are in milliseconds.
 * `--origin URL` sends an Origin header (servers behind Channels' origin validation need one).
 * `--url` may list several URLs, comma-separated: connection i goes to entry i mod n (a room spread
 * over several server processes) and the fan-out sender uses the first, as `wsbench -url` does.
 * `--sio` makes fan-out speak Socket.IO v4 over its WebSocket transport:
 * `/ws/chat/<room>/` becomes `/socket.io/?EIO=4&transport=websocket&room=<room>`, messages are
 * `message` events. Fan-out also prints `DELIVERED` once every message has arrived (before its
 * sockets close) and reports the delivery latency's p50 and p99 from the `t:<ms>` stamp each
 * message carries.
 */
import type { Socket } from 'node:net'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { rawHandshake } from './raw-handshake.js'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:8000/ws/echo/' },
    c: { type: 'string', default: '50' },
    d: { type: 'string', default: '5000' },
    size: { type: 'string', default: '64' },
    n: { type: 'string', default: '10000' },
    k: { type: 'string', default: '64' },
    hold: { type: 'string', default: '0' },
    m: { type: 'string', default: '100' },
    every: { type: 'string', default: '5' },
    srcips: { type: 'string', default: '4' },
    timeout: { type: 'string', default: '60000' },
    origin: { type: 'string' },
    sio: { type: 'boolean', default: false },
    /** conn mode: `raw` (bare-socket handshakes) or `ws` (the ws library). */
    client: { type: 'string', default: 'raw' },
  },
})

const urls = values.url.split(',')
const url = urls[0]!
const srcIps = Number(values.srcips)
const sio = values.sio

/** Socket.IO's WebSocket transport URL for a benchmark URL (a chat path names the room). */
function sioUrl(benchUrl: string): string {
  const { origin, pathname } = new URL(benchUrl)
  const room = /^\/ws\/chat\/([^/]+)\/?$/.exec(pathname)?.[1]
  const wsOrigin = origin.replace(/^http/, 'ws')
  return `${wsOrigin}/socket.io/?EIO=4&transport=websocket${room ? `&room=${room}` : ''}`
}

/** Open one client, spreading source addresses over 127.0.0.1..N so 10k sockets fit the port range. */
function dial(i: number): Promise<WebSocket> {
  const target = urls[i % urls.length]!
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(sio ? sioUrl(target) : target, {
      perMessageDeflate: false,
      localAddress: srcIps > 1 ? `127.0.0.${1 + (i % srcIps)}` : undefined,
      handshakeTimeout: 10_000,
      headers: values.origin ? { origin: values.origin } : undefined,
    })
    ws.once('error', reject)
    if (!sio) {
      ws.once('open', () => resolve(ws))
      return
    }
    // engine.io's open packet ('0{…}'), then the namespace connect ('40') and its ack ('40{…}');
    // engine.io pings ('2') are answered ('3') for as long as the socket lives.
    ws.on('message', (data: Buffer) => {
      const text = data.toString()
      if (text === '2') ws.send('3')
      else if (text.startsWith('0{')) ws.send('40')
      else if (text.startsWith('40')) resolve(ws)
      else if (text.startsWith('44')) reject(new Error(`socket.io connect refused: ${text}`))
    })
  })
}

/** A chat message frame: the payload itself, or a Socket.IO `message` event carrying it. */
function frame(payload: string): string {
  return sio ? `42${JSON.stringify(['message', payload])}` : payload
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) * p)]!
}

async function echo(): Promise<string> {
  const conns = Number(values.c)
  const duration = Number(values.d)
  const payload = 'x'.repeat(Number(values.size))
  const sockets = await Promise.all(Array.from({ length: conns }, (_, i) => dial(i)))
  let done = 0
  let errors = 0
  console.log('STARTED')
  const start = performance.now()
  const stop = start + duration
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.on('message', () => {
            done++
            if (performance.now() < stop) ws.send(payload)
            else resolve()
          })
          ws.on('error', () => {
            errors++
            resolve()
          })
          ws.on('close', () => resolve())
          ws.send(payload)
        }),
    ),
  )
  const secs = (performance.now() - start) / 1000
  for (const ws of sockets) ws.close(1000)
  return `mode=echo conns=${conns} size=${payload.length} msgs=${done} secs=${secs.toFixed(2)} rate=${(done / secs).toFixed(0)} errors=${errors}`
}

/** One held `conn` connection, opened by either client. */
interface Held {
  /** Still open (the server has not closed it). */
  alive(): boolean
  /** Drop it with a TCP reset. */
  reset(): void
}

async function openHeld(i: number): Promise<Held> {
  if (values.client === 'ws') {
    const ws = await dial(i)
    ws.on('error', () => {})
    return {
      alive: () => ws.readyState === WebSocket.OPEN,
      reset: () => {
        const socket = (ws as unknown as { _socket?: { resetAndDestroy?: () => void } })._socket
        if (typeof socket?.resetAndDestroy === 'function') socket.resetAndDestroy()
        else ws.terminate()
      },
    }
  }
  const socket: Socket = await rawHandshake({
    url,
    origin: values.origin,
    localAddress: srcIps > 1 ? `127.0.0.${1 + (i % srcIps)}` : undefined,
    timeoutMs: 10_000,
  })
  let open = true
  socket.once('close', () => (open = false))
  socket.once('end', () => (open = false))
  return { alive: () => open, reset: () => socket.resetAndDestroy() }
}

async function conn(): Promise<string> {
  if (values.client !== 'raw' && values.client !== 'ws')
    throw new TypeError(`--client must be raw or ws, not ${values.client}`)
  const total = Number(values.n)
  const parallel = Number(values.k)
  const held: Held[] = []
  let errors = 0
  let next = 0
  let firstError = ''
  const handshakes: number[] = []
  console.log('STARTED')
  const half = Math.floor(total / 2)
  const start = performance.now()
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < total) {
        const i = next++
        const t0 = performance.now()
        try {
          const connection = await openHeld(i)
          handshakes.push(performance.now() - t0)
          held.push(connection)
          // Half way: the runner reads the server's CPU and RSS here too (steady-state figures).
          if (held.length === half) console.log(`HALF ${half}`)
        } catch (error) {
          errors++
          firstError ||= String(error)
        }
      }
    }),
  )
  const secs = (performance.now() - start) / 1000
  console.log(`OPENED ${held.length} in ${secs.toFixed(2)}s`)
  if (firstError) console.log(`first error: ${firstError}`)
  await new Promise((r) => setTimeout(r, Number(values.hold)))
  const alive = held.filter((connection) => connection.alive()).length
  // Reset rather than close: 10k closes would leave 10k sockets in TIME_WAIT for a minute, and
  // the next server measured (on a 2-core box the runs follow each other) paid for them.
  for (const connection of held) connection.reset()
  handshakes.sort((a, b) => a - b)
  return `mode=conn client=${values.client} opened=${held.length} errors=${errors} secs=${secs.toFixed(2)} rate=${(held.length / secs).toFixed(0)} hs_p50_ms=${percentile(handshakes, 0.5).toFixed(3)} hs_p99_ms=${percentile(handshakes, 0.99).toFixed(3)} alive_after_hold=${alive}`
}

/** The send time a fan-out message carries (`t:<ms since the epoch>`), NaN without one. */
function stamp(data: Buffer): number {
  let i = data.lastIndexOf('t:') + 2
  if (i < 2) return Number.NaN
  let ms = 0
  for (let c = data[i]; c !== undefined && c >= 48 && c <= 57; c = data[++i]) ms = ms * 10 + c - 48
  return ms
}

async function fanout(): Promise<string> {
  const receivers = Number(values.c)
  const messages = Number(values.m)
  const every = Number(values.every)
  let received = 0
  let errors = 0
  let finished = 0
  const latencies: number[] = []
  let allDone!: () => void
  const done = new Promise<void>((resolve) => (allDone = resolve))
  const sockets: WebSocket[] = []
  for (let i = 0; i < receivers; i += 64) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(64, receivers - i) }, (_, j) => dial(i + j)),
    )
    sockets.push(...batch)
  }
  for (const ws of sockets) {
    let count = 0
    ws.on('message', (data: Buffer) => {
      // Only room broadcasts count (a server may greet a new member with something else).
      if (!data.includes('"message"')) return
      received++
      latencies.push(Date.now() - stamp(data))
      if (++count === messages && ++finished === receivers) allDone()
    })
    ws.on('error', () => errors++)
  }
  await new Promise((r) => setTimeout(r, 500)) // let group joins settle
  const sender = await dial(0)
  let senderReceived = 0
  sender.on('message', (data: Buffer) => {
    if (data.includes('"message"')) senderReceived++
  })
  console.log('STARTED')
  const start = performance.now()
  for (let n = 0; n < messages; n++) {
    sender.send(frame(JSON.stringify({ message: `m${n} t:${Date.now()}` })))
    await new Promise((r) => setTimeout(r, every))
  }
  const timeout = setTimeout(allDone, Number(values.timeout))
  await done
  clearTimeout(timeout)
  const secs = (performance.now() - start) / 1000
  console.log('DELIVERED')
  for (const ws of [...sockets, sender]) ws.terminate()
  const expected = receivers * messages
  const sorted = latencies.filter((ms) => Number.isFinite(ms)).sort((a, b) => a - b)
  return `mode=fanout receivers=${receivers} msgs=${messages} expected=${expected} received=${received} sender_received=${senderReceived} secs=${secs.toFixed(2)} deliveries_per_s=${(received / secs).toFixed(0)} p50_ms=${percentile(sorted, 0.5)} p99_ms=${percentile(sorted, 0.99)} errors=${errors}`
}

const modes: Record<string, () => Promise<string>> = { echo, conn, fanout }
const mode = modes[positionals[0] ?? '']
if (!mode) {
  console.error('usage: loadgen echo|conn|fanout [options]')
  process.exitCode = 2
} else {
  console.log(`RESULT ${await mode()}`)
}
