/**
 * Measures (never asserts) `channels runserver` on a fresh startproject tree:
 * - cold start: spawn → first WebSocket connection accepted and echoed on /ws/echo/;
 * - hot reload: consumers.ts saved → a new connection served by the new code;
 * and checks that a connection opened before the reloads is still served.
 *
 * Run (after `npm run build`):
 *   npx esbuild test/e2e/measure-runserver.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=.bench/measure-runserver.mjs && node .bench/measure-runserver.mjs [runs]
 */
import { spawn, spawnSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import WebSocket from 'ws'

const ROOT = resolve(process.cwd())
const BIN = join(ROOT, 'dist/bin/channels.js')
const RUNS = Number(process.argv[2] ?? 7)
const RELOADS_PER_RUN = 5

function echo(port: number, text: string): Promise<string | null> {
  return new Promise((done) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/echo/`, {
      origin: `http://127.0.0.1:${port}`,
    })
    const finish = (value: string | null) => {
      ws.terminate()
      done(value)
    }
    ws.once('open', () => ws.send(text))
    ws.once('message', (data) => finish(data.toString()))
    ws.once('error', () => finish(null))
    ws.once('unexpected-response', () => finish(null))
  })
}

async function until<T>(probe: () => Promise<T | null>): Promise<T> {
  const deadline = performance.now() + 20_000
  while (performance.now() < deadline) {
    const value = await probe()
    if (value !== null) return value
    await new Promise((r) => setTimeout(r, 1))
  }
  throw new Error('timed out')
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const root = mkdtempSync(join(tmpdir(), 'channels-measure-'))
const project = join(root, 'site')
const created = spawnSync(process.execPath, [BIN, 'startproject', 'site', project], {
  encoding: 'utf8',
})
if (created.status !== 0) throw new Error(created.stderr)

const cold: number[] = []
const reload: number[] = []
let dropped = 0
try {
  for (let run = 0; run < RUNS; run++) {
    const port = 47_000 + run
    const t0 = performance.now()
    const child = spawn(process.execPath, [BIN, 'runserver', `127.0.0.1:${port}`], {
      cwd: project,
      stdio: 'ignore',
    })
    try {
      await until(() => echo(port, 'cold'))
      cold.push(performance.now() - t0)
      const survivor = new WebSocket(`ws://127.0.0.1:${port}/ws/echo/`, {
        origin: `http://127.0.0.1:${port}`,
      })
      await new Promise((ok, fail) => survivor.once('open', ok).once('error', fail))
      let closed = false
      survivor.once('close', () => (closed = true))
      for (let i = 0; i < RELOADS_PER_RUN; i++) {
        const marker = `r${run}.${i}:`
        // Give the watcher a moment between saves, as a person would.
        await new Promise((r) => setTimeout(r, 100))
        const saved = performance.now()
        appendFileSync(
          join(project, 'chat/consumers.ts'),
          `\nEchoConsumer.prototype.receive = async function (this: EchoConsumer, text?: string) { await this.send({ textData: '${marker}' + text }) }\n`,
        )
        await until(async () => ((await echo(port, 'x'))?.startsWith(marker) ? true : null))
        reload.push(performance.now() - saved)
      }
      const alive = await new Promise<boolean>((ok) => {
        survivor.once('message', () => ok(true))
        survivor.send('still there?')
        setTimeout(() => ok(false), 2000).unref()
      })
      if (closed || !alive) dropped++
      survivor.terminate()
    } finally {
      child.kill('SIGINT')
      await new Promise((r) => child.once('exit', r))
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true })
}
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ')
console.log(
  `cold start → first echoed connection: median ${median(cold).toFixed(0)} ms  [${fmt(cold)}]`,
)
console.log(
  `save → new generation serving:        median ${median(reload).toFixed(0)} ms  [${fmt(reload)}]`,
)
console.log(`connections dropped by reloads: ${dropped} of ${RUNS}`)
