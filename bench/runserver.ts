/**
 * `channels runserver` figures on a fresh `startproject` tree: cold start (spawn → first echo on
 * /ws/echo/) and hot reload (file saved → a new connection served by the new code), plus whether
 * a connection opened before the reloads survived them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { median } from './proc.js'

export interface RunserverFigures {
  coldStartMs: number
  reloadMs: number
  /** Connections open across the reloads that were closed by them (target: 0). */
  dropped: number
  coldStartSamples: number[]
  reloadSamples: number[]
}

/** One echo over a fresh connection; resolves with the reply, or null if the server is not there. */
function echoOnce(port: number, text: string): Promise<string | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/echo/`, {
      perMessageDeflate: false,
      origin: `http://127.0.0.1:${port}`,
    })
    const done = (value: string | null) => {
      ws.terminate()
      resolve(value)
    }
    ws.once('open', () => ws.send(text))
    // ws's default binaryType ('nodebuffer') hands over a Buffer.
    ws.once('message', (data) => done((data as Buffer).toString()))
    ws.once('error', () => done(null))
    ws.once('unexpected-response', () => done(null))
  })
}

async function until<T>(probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    const value = await probe()
    if (value !== null) return value
    await new Promise((r) => setTimeout(r, 2))
  }
  throw new Error(`runserver bench: nothing after ${timeoutMs} ms`)
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGINT')
    setTimeout(() => child.kill('SIGKILL'), 5000).unref()
  })
}

/** Scaffold a project with the built CLI and link this checkout in as its `channels-ts`. */
function scaffold(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'channels-bench-'))
  const project = join(dir, 'site')
  const result = spawnSync(
    process.execPath,
    [join(root, 'dist/bin/channels.js'), 'startproject', 'site', project],
    {
      encoding: 'utf8',
    },
  )
  if (result.status !== 0) throw new Error(`startproject failed: ${result.stderr}${result.stdout}`)
  mkdirSync(join(project, 'node_modules'), { recursive: true })
  symlinkSync(root, join(project, 'node_modules', 'channels-ts'), 'dir')
  return project
}

export async function measureRunserver(options: {
  root: string
  runs: number
  port: number
}): Promise<RunserverFigures> {
  const project = scaffold(options.root)
  const bin = join(options.root, 'dist/bin/channels.js')
  const coldStartSamples: number[] = []
  const reloadSamples: number[] = []
  let dropped = 0
  try {
    for (let run = 0; run < options.runs; run++) {
      const port = options.port + run
      const t0 = performance.now()
      const child = spawn(process.execPath, [bin, 'runserver', `127.0.0.1:${port}`], {
        cwd: project,
        stdio: ['ignore', 'ignore', 'ignore'],
      })
      try {
        await until(() => echoOnce(port, 'cold'), 20_000)
        coldStartSamples.push(performance.now() - t0)

        // A connection opened before the reloads must keep working through them.
        const survivor = new WebSocket(`ws://127.0.0.1:${port}/ws/echo/`, {
          perMessageDeflate: false,
          origin: `http://127.0.0.1:${port}`,
        })
        await new Promise((resolve, reject) => survivor.once('open', resolve).once('error', reject))

        for (let reload = 1; reload <= 3; reload++) {
          const marker = `gen-${run}-${reload}:`
          const saved = performance.now()
          // Appended code replaces the echo behaviour: only the new generation answers with the marker.
          appendFileSync(
            join(project, 'chat/consumers.ts'),
            `\nEchoConsumer.prototype.receive = async function (this: EchoConsumer, text?: string) { await this.send({ textData: '${marker}' + text }) }\n`,
          )
          await until(async () => {
            const reply = await echoOnce(port, 'x')
            return reply?.startsWith(marker) ? reply : null
          }, 20_000)
          reloadSamples.push(performance.now() - saved)
        }
        const stillEchoes = await new Promise<boolean>((resolve) => {
          survivor.once('message', () => resolve(true))
          survivor.send('still there?')
          setTimeout(() => resolve(false), 2000).unref()
        })
        if (survivor.readyState !== WebSocket.OPEN || !stillEchoes) dropped++
        survivor.terminate()
      } finally {
        await stop(child)
      }
    }
  } finally {
    rmSync(join(project, '..'), { recursive: true, force: true })
  }
  return {
    coldStartMs: median(coldStartSamples),
    reloadMs: median(reloadSamples),
    dropped,
    coldStartSamples,
    reloadSamples,
  }
}
