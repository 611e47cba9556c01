/**
 * Server CPU per handshake and per echo with a raw ASGI app (accepts, echoes text, no framework):
 * what the protocol server and reactor cost on their own. The load generator runs in a child
 * process (pin both with taskset for stable figures); CPU is this process's `cpuUsage()`.
 *
 *   taskset -c 0 node dist/bench/micro/server-cpu.js [--reactor uws|node] [-n 10000] [--echo-ms 5000]
 *
 * Set LOADGEN_CPU=1 to pin the load generator to CPU 1.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Application } from '../../src/framework/asgi/types.js'
import { createServer } from '../../src/server/index.js'

const { values } = parseArgs({
  options: {
    n: { type: 'string', short: 'n', default: '10000' },
    reactor: { type: 'string', default: 'uws' },
    'echo-ms': { type: 'string', default: '5000' },
  },
})

const app: Application = async (scope, receive, send) => {
  if (scope.type !== 'websocket') return
  let event = await receive()
  await send({ type: 'websocket.accept' })
  for (;;) {
    event = await receive()
    if (event.type === 'websocket.disconnect') return
    if (event.type === 'websocket.receive' && typeof event.text === 'string')
      await send({ type: 'websocket.send', text: event.text })
  }
}

const loadgen = fileURLToPath(new URL('../loadgen.js', import.meta.url))

function run(args: string[]): Promise<{ result: string; cpuUs: number }> {
  return new Promise((resolve, reject) => {
    const argv = [loadgen, ...args]
    const child =
      process.env.LOADGEN_CPU === '1'
        ? spawn('taskset', ['-c', '1', process.execPath, ...argv], {
            stdio: ['ignore', 'pipe', 'inherit'],
          })
        : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    let start: NodeJS.CpuUsage | null = null
    let cpuUs = 0
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (start === null && out.includes('STARTED')) start = process.cpuUsage()
      if (cpuUs === 0 && start !== null && out.includes('OPENED')) {
        const used = process.cpuUsage(start)
        cpuUs = used.user + used.system
      }
    })
    child.on('error', reject)
    child.on('exit', () => {
      if (cpuUs === 0 && start !== null) {
        const used = process.cpuUsage(start)
        cpuUs = used.user + used.system
      }
      resolve({ result: out.split('\n').find((l) => l.startsWith('RESULT')) ?? out, cpuUs })
    })
  })
}

function field(result: string, key: string): number {
  return Number(new RegExp(`${key}=([0-9.]+)`).exec(result)?.[1])
}

const server = createServer(app, ['tcp:port=0:interface=127.0.0.1'], {
  reactor: values.reactor as 'uws' | 'node',
})
const started = await server.start()
const port = (started.listeners[0]?.address as { port: number }).port
const url = `ws://127.0.0.1:${port}/ws/echo/`
await run(['conn', '--url', url, '-n', '500', '-k', '64']) // warm-up
const conn = await run(['conn', '--url', url, '-n', values.n, '-k', '64'])
const echo = await run(['echo', '--url', url, '-c', '50', '-d', values['echo-ms']])
const opened = field(conn.result, 'opened')
const msgs = field(echo.result, 'msgs')
console.log(
  `${started.engine}: handshake ${(conn.cpuUs / opened).toFixed(1)} µs (${opened}), ` +
    `echo ${(echo.cpuUs / msgs).toFixed(2)} µs (${msgs} msgs)`,
)
await server.stop()
