/**
 * The JavaScript share of a WebSocket handshake under `channels serve`, in one process and
 * without sockets: uWebSockets.js is replaced by a stand-in that hands the real uws reactor
 * requests shaped like the benchmark's (the same headers, strings made per request as uWS
 * makes them), and the shipped example project is served by the real CLI, server, middleware
 * and consumers. Connections stay open (as in the benchmark's wave), so GC is included. Prints
 * µs of CPU per handshake per round; run it before and after a change to see what it saved,
 * far more steadily than the socket benchmark can on a shared machine.
 *
 *   node --max-semi-space-size=2 dist/bench/micro/uws-handshake.js [--n 10000] [--rounds 5]
 *     [--path /ws/echo/] [--app path/to/module.ts:export] [--heap-sample FILE] [--cold KiB]
 *
 * `--heap-sample` records V8's sampling heap profile over the measured rounds, collected
 * objects included, and prints the bytes allocated per handshake by function (timings are then
 * inflated; use it to see where the allocations are, not how fast).
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import Module from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    path: { type: 'string', default: '/ws/echo/' },
    /** Serve this `module:export` instead of the example's ASGI_APPLICATION. */
    app: { type: 'string' },
    /** Also write where the measured rounds allocated (collected objects included), as JSON. */
    'heap-sample': { type: 'string' },
    /**
     * KiB of memory to sweep after every handshake, so the next one starts with cold caches as
     * on a real server, where the network stack runs in between (0: hot caches).
     */
    cold: { type: 'string', default: '0' },
  },
})
const N = Number(values.n)
const ROUNDS = Number(values.rounds)
const PORT = 18999

type Handler = (...args: unknown[]) => void
interface Behavior {
  upgrade(res: FakeResponse, req: FakeRequest, context: object): void
  open(ws: FakeWebSocket): void
  close(ws: FakeWebSocket, code: number, message: ArrayBuffer): void
}

/** The WebSocket routes the server registered with the stand-in App. */
const behaviors: Behavior[] = []
let opened = 0

/** uWS's WebSocket: its user data's properties are copied onto it, as uWS does. */
class FakeWebSocket {
  [key: string]: unknown
  getUserData(): this {
    return this
  }
  send(): number {
    return 1
  }
  getBufferedAmount(): number {
    return 0
  }
  cork(fn: () => void): void {
    fn()
  }
  end(): void {}
  close(): void {}
  ping(): number {
    return 1
  }
}

class FakeResponse {
  onAborted(_handler: Handler): this {
    return this
  }
  getRemoteAddress(): ArrayBuffer {
    return new Uint8Array([127, 0, 0, 1]).buffer
  }
  cork(fn: () => void): this {
    fn()
    return this
  }
  writeStatus(): this {
    return this
  }
  writeHeader(): this {
    return this
  }
  end(): this {
    throw new Error('handshake refused (the stand-in expects every handshake to be accepted)')
  }
  upgrade(userData: Record<string, unknown>): void {
    const ws = Object.assign(new FakeWebSocket(), userData)
    behaviors[0]!.open(ws)
    opened++
  }
}

const KEY_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** A request as the benchmark's load generator (the `ws` client) sends it; fresh strings each. */
class FakeRequest {
  constructor(readonly seq: number) {}
  #headers(): [string, string][] {
    let key = ''
    let n = this.seq
    for (let i = 0; i < 22; i++) {
      key += KEY_CHARS.charAt((n + i * 7) & 63)
      n = (n * 31 + 7) >>> 0
    }
    // `${x}` copies: uWS makes a new string per call.
    return [
      ['sec-websocket-version', '13'],
      ['sec-websocket-key', `${key}==`],
      ['connection', 'Upgrade'],
      ['upgrade', 'websocket'],
      ['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits'],
      ['host', `127.0.0.1:${PORT}`],
      ['origin', `http://127.0.0.1:${PORT}`],
    ]
  }
  forEach(cb: (key: string, value: string) => void): void {
    for (const [key, value] of this.#headers()) cb(key, value)
  }
  getHeader(name: string): string {
    return this.#headers().find(([key]) => key === name)?.[1] ?? ''
  }
  getUrl(): string {
    return values.path
  }
  getQuery(): string | undefined {
    return undefined
  }
  getCaseSensitiveMethod(): string {
    return 'GET'
  }
}

const fakeUws = {
  App: () => {
    const app = {
      ws: (_pattern: string, b: Behavior) => {
        behaviors.push(b)
        return app
      },
      any: () => app,
      listen: (...args: unknown[]) => {
        ;(args[args.length - 1] as (socket: object) => void)({})
        return app
      },
      close: () => {},
    }
    return app
  },
  DISABLED: 0,
  us_socket_local_port: () => PORT,
  us_listen_socket_close: () => {},
}

// The reactor loads uWebSockets.js with require(): answer with the stand-in.
type Load = (request: string, parent: unknown, isMain: boolean) => unknown
const moduleWithLoad = Module as unknown as { _load: Load }
const realLoad = moduleWithLoad._load
moduleWithLoad._load = function load(request, parent, isMain) {
  if (request === 'uWebSockets.js/package.json') return { version: 'stand-in' }
  if (request.startsWith('uWebSockets.js')) return fakeUws
  return realLoad.call(this, request, parent, isMain)
}

const root = fileURLToPath(new URL('../../../', import.meta.url))
process.chdir(`${root}example`)
const { main } = await import('../../src/cli/index.js')
const appArgs = values.app === undefined ? [] : [values.app]
void main(['serve', ...appArgs, '-b', '127.0.0.1', '-p', String(PORT), '-v', '0'])
for (let i = 0; i < 200 && behaviors.length === 0; i++) {
  await new Promise((r) => setTimeout(r, 50))
}
const registered = behaviors[0]
if (registered === undefined) throw new Error('the server never registered its WebSocket route')
const ws: Behavior = registered

const context = {}
let seq = 0

// --cold: one cache line in every 64 bytes is written, every handshake.
const sweep = new Int32Array((Number(values.cold) * 1024) / 4)

function coldCaches(): void {
  for (let i = 0; i < sweep.length; i += 16) sweep[i] = (sweep[i] as number) + 1
}

/** `count` handshakes, synchronously (an optimized loop: the harness should cost little). */
function handshakes(count: number): void {
  for (let i = 0; i < count; i++) {
    ws.upgrade(new FakeResponse(), new FakeRequest(seq++), context)
    if (sweep.length > 0) coldCaches()
  }
}

const sampleFile = values['heap-sample']
const inspector = sampleFile === undefined ? null : new Session()

const results: number[] = []
for (let round = 0; round <= ROUNDS; round++) {
  if (round === 1 && inspector !== null) {
    inspector.connect()
    await inspector.post('HeapProfiler.enable')
    await inspector.post('HeapProfiler.startSampling', {
      samplingInterval: 128,
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    })
  }
  const start = process.cpuUsage()
  // 64 at a time, then the event loop runs (queued microtasks, timers), as under real traffic.
  for (let done = 0; done < N; done += 64) {
    handshakes(Math.min(64, N - done))
    await new Promise((r) => setImmediate(r))
  }
  const used = process.cpuUsage(start)
  if (opened !== seq) throw new Error(`${seq - opened} handshakes were not accepted`)
  const perHandshake = (used.user + used.system) / N
  if (round > 0) results.push(perHandshake)
  console.log(
    round === 0
      ? `warm-up: ${perHandshake.toFixed(2)} µs/handshake`
      : `round ${round}: ${perHandshake.toFixed(2)} µs/handshake (${opened} open)`,
  )
}
results.sort((a, b) => a - b)
const median = results[results.length >> 1] as number
console.log(`median ${median.toFixed(2)} µs/handshake over ${ROUNDS} rounds`)
if (inspector !== null && sampleFile !== undefined) {
  const { profile } = await inspector.post('HeapProfiler.stopSampling')
  writeFileSync(sampleFile, JSON.stringify(profile))
  printAllocations(profile, N * ROUNDS)
}

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: SampleNode[]
}

/** Bytes allocated per handshake, by the function that allocated them (largest first). */
function printAllocations(profile: { head: SampleNode }, handshakeCount: number): void {
  const byFunction = new Map<string, number>()
  let total = 0
  const visit = (node: SampleNode): void => {
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/^.*\/(dist|node_modules)\//, '')
    const where = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
    byFunction.set(where, (byFunction.get(where) ?? 0) + node.selfSize)
    total += node.selfSize
    for (const child of node.children) visit(child)
  }
  visit(profile.head)
  console.log(`allocated: ${Math.round(total / handshakeCount)} B per handshake`)
  const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30)
  for (const [where, bytes] of top) {
    console.log(`${String(Math.round(bytes / handshakeCount)).padStart(7)} B  ${where}`)
  }
}
process.exit(0)
