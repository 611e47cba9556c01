/**
 * End-to-end helpers: make sure the built CLI exists, spawn `dist/bin/channels.js`, read its
 * output as it comes, connect WebSocket clients.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { vi } from 'vitest'
import WebSocket from 'ws'

export const ROOT = resolve(import.meta.dirname, '../..')
export const BIN = join(ROOT, 'dist/bin/channels.js')

/** Debian's Chromium, which `.ci/run` installs. */
export const CHROMIUM = '/usr/bin/chromium'

/** Headless Chromium for the browser tests: no sandbox (root in CI), no background traffic. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium`)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

/**
 * `npm test` builds first; a lone `vitest run test/e2e` rebuilds when the build is missing or
 * older than the sources (under a lock, since test files run in parallel).
 */
export function ensureBuilt(): void {
  const stale = () =>
    !existsSync(BIN) ||
    statSync(BIN).mtimeMs < Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'bin')))
  if (!stale()) return
  spawnSync(
    'flock',
    [
      '/tmp/channels-ts-e2e-build.lock',
      'sh',
      '-c',
      `[ -f "${BIN}" ] && [ -z "$(find "${ROOT}/src" "${ROOT}/bin" -newer "${BIN}" -print -quit)" ] || npx tsc -p tsconfig.build.json`,
    ],
    {
      cwd: ROOT,
      stdio: 'ignore',
    },
  )
  if (!existsSync(BIN)) throw new Error('npm run build did not produce dist/bin/channels.js')
}

/** Run the built CLI to completion. */
export function runBin(args: string[], cwd: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  })
}

/** A spawned long-running command with its output collected. */
export interface Spawned {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  /** Wait until stdout+stderr match `pattern`; returns the match. */
  waitForOutput(pattern: RegExp, timeout?: number): Promise<RegExpMatchArray>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export function spawnBin(args: string[], cwd: string, env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const spawned: Spawned = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(pattern, timeout = 15_000) {
      let match: RegExpMatchArray | null = null
      await vi.waitFor(
        () => {
          match = (out + err).match(pattern)
          if (!match) {
            if (child.exitCode !== null)
              throw new Error(`exited ${child.exitCode} without ${pattern}:\n${out}\n${err}`)
            throw new Error(`no ${pattern} yet:\n${out}\n${err}`)
          }
        },
        { timeout, interval: 20 },
      )
      return match!
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
  return spawned
}

/** Start runserver on a free port; resolves once it printed its banner and watches files. */
export async function startRunserver(
  cwd: string,
  args: string[] = [],
): Promise<Spawned & { port: number }> {
  const server = spawnBin(['runserver', '127.0.0.1:0', ...args], cwd)
  const match = await server.waitForOutput(/development server at http:\/\/127\.0\.0\.1:(\d+)\//)
  if (!args.includes('--noreload')) await server.waitForOutput(/Watching for file changes/)
  return Object.assign(server, { port: Number(match[1]) })
}

/** A WebSocket client that queues what it receives. */
export interface Client {
  ws: WebSocket
  next(timeout?: number): Promise<string>
  nextJson<T = Record<string, unknown>>(timeout?: number): Promise<T>
  nextBinary(timeout?: number): Promise<Buffer>
  close(): Promise<void>
}

export async function connect(
  port: number,
  path: string,
  origin: string | null = `http://127.0.0.1:${port}`,
  headers: Record<string, string> = {},
): Promise<Client> {
  const ws = new WebSocket(
    `ws://127.0.0.1:${port}${path}`,
    origin ? { origin, headers } : { headers },
  )
  const queue: { data: Buffer; binary: boolean }[] = []
  const waiters: (() => void)[] = []
  ws.on('message', (data: Buffer, binary: boolean) => {
    queue.push({ data, binary })
    waiters.splice(0).forEach((w) => w())
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`handshake answered ${res.statusCode}`)),
    )
  })
  const take = async (timeout = 10_000) => {
    const deadline = Date.now() + timeout
    while (queue.length === 0) {
      if (ws.readyState !== WebSocket.OPEN)
        throw new Error(`socket closed (${ws.readyState}) while waiting for a message`)
      if (Date.now() > deadline) throw new Error('no message')
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        setTimeout(resolve, 100)
      })
    }
    return queue.shift()!
  }
  return {
    ws,
    next: async (timeout) => (await take(timeout)).data.toString(),
    nextJson: async <T>(timeout?: number) => JSON.parse((await take(timeout)).data.toString()) as T,
    nextBinary: async (timeout) => {
      const m = await take(timeout)
      if (!m.binary) throw new Error('expected a binary message')
      return m.data
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve()
        ws.once('close', () => resolve())
        ws.close()
      }),
  }
}

/** The handshake status of a refused WebSocket connection. */
export function handshakeStatus(
  port: number,
  path: string,
  origin: string | null,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, origin ? { origin } : {})
    ws.once('open', () => {
      ws.terminate()
      resolve(101)
    })
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.once('error', reject)
  })
}

/** GET a path (raw: no URL normalisation by the client). */
export async function httpGet(
  port: number,
  path: string,
): Promise<{ status: number; type: string | null; body: string }> {
  const { request } = await import('node:http')
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? null, body }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}
