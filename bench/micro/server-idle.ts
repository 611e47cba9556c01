/**
 * Bytes per idle WebSocket that the server itself keeps: createServer on port 0 with a raw ASGI
 * app that accepts and then awaits receive (no consumer, no framework), N connections opened by
 * the load generator in a child process, JS heap (after gc) and RSS read before and after.
 *
 *   node --expose-gc dist/bench/micro/server-idle.js [-n 10000] [--reactor uws|node] [--headers]
 *
 * `--headers` makes the app touch `scope.headers` (what a consumer's middleware does), to show
 * the cost of building them when they are lazy. `--snapshot PREFIX` writes heap snapshots before
 * and after (compare them with dist/bench/micro/heap-diff.js).
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { writeHeapSnapshot } from 'node:v8'
import type { Application } from '../../src/framework/asgi/types.js'
import { createServer } from '../../src/server/index.js'

const { values } = parseArgs({
  options: {
    n: { type: 'string', short: 'n', default: '10000' },
    reactor: { type: 'string', default: 'uws' },
    headers: { type: 'boolean', default: false },
    snapshot: { type: 'string' },
  },
})
const N = Number(values.n)

const app: Application = async (scope, receive, send) => {
  if (scope.type !== 'websocket') return
  let event = await receive()
  if (values.headers && (scope.headers as unknown[]).length === 0) throw new Error('no headers')
  await send({ type: 'websocket.accept' })
  while (event.type !== 'websocket.disconnect') event = await receive()
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  const settle = async (): Promise<{ heap: number; rss: number }> => {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 50))
      gc()
    }
    const usage = process.memoryUsage()
    return { heap: usage.heapUsed, rss: usage.rss }
  }
  const server = createServer(app, ['tcp:port=0:interface=127.0.0.1'], {
    reactor: values.reactor as 'uws' | 'node',
  })
  const started = await server.start()
  const address = started.listeners[0]?.address as { port: number }
  const url = `ws://127.0.0.1:${address.port}/ws/idle/?x=1`
  const loadgen = fileURLToPath(new URL('../loadgen.js', import.meta.url))
  const run = (n: number, onOpened: () => Promise<void>): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [loadgen, 'conn', '--url', url, '-n', String(n), '-k', '64', '--hold', '600000'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      let buffered = ''
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        if (buffered.includes('OPENED')) {
          buffered = ''
          void onOpened().then(() => child.kill('SIGKILL'), reject)
        }
      })
      child.on('exit', () => resolve())
    })
  // Warm-up round (JIT, reactor pools), then the measured one.
  await run(200, async () => undefined)
  await new Promise((r) => setTimeout(r, 500))
  const before = await settle()
  if (values.snapshot) writeHeapSnapshot(`${values.snapshot}.before.heapsnapshot`)
  let after = before
  let open = 0
  await run(N, async () => {
    await new Promise((r) => setTimeout(r, 200))
    after = await settle()
    open = server.connectionCount
    if (values.snapshot) writeHeapSnapshot(`${values.snapshot}.after.heapsnapshot`)
  })
  const heap = (after.heap - before.heap) / open
  const rss = (after.rss - before.rss) / open
  console.log(
    `${started.engine}: ${open} idle WebSockets, heap ${(heap / 1024).toFixed(2)} KiB ` +
      `(${Math.round(heap)} B), rss ${(rss / 1024).toFixed(2)} KiB per connection`,
  )
  await server.stop()
}

await main()
