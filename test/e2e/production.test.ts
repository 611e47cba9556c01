/**
 * `channels serve` as a production process, through the built binary on a startproject project:
 * a port another server holds is refused, a signal ends the process even while user code holds a
 * handle, `npm start` passes SIGTERM on to the server, and a script without `exec` (or npx)
 * still stops when npm goes away. Every case on both reactors.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  BIN,
  connect,
  ensureBuilt,
  httpGet,
  runBin,
  spawnBin,
  type Client,
  type Spawned,
} from './helpers.js'
import { REACTORS } from '../helpers/with-server.js'
import { freePort } from '../helpers/free-port.js'

const LISTENING = /Listening on TCP address 127\.0\.0\.1:(\d+)/

let root: string
let project: string
const cleanups: (() => unknown)[] = []

beforeAll(() => {
  ensureBuilt()
  root = mkdtempSync(join(tmpdir(), 'channels-e2e-production-'))
  project = join(root, 'mysite')
  const created = runBin(['startproject', 'mysite'], root)
  if (created.status !== 0) throw new Error(`startproject failed: ${created.stderr}`)
  // What `npm install` puts there: the package's bin, run by its `#!/usr/bin/env node` line,
  // which execs node just as this wrapper does.
  mkdirSync(join(project, 'node_modules/.bin'), { recursive: true })
  const bin = join(project, 'node_modules/.bin/channels')
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(bin, 0o755)
}, 120_000)

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Run the built CLI to completion, or kill it after 20 s (a server that should have failed). */
function runBounded(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 20_000,
    killSignal: 'SIGKILL',
  })
}

/** `channels serve` in the project; resolves once it listens, with its port. */
async function serve(args: string[]): Promise<Spawned & { port: number }> {
  const server = spawnBin(['serve', ...args], project)
  cleanups.push(() => server.stop('SIGKILL'))
  const match = await server.waitForOutput(LISTENING)
  return Object.assign(server, { port: Number(match[1]) })
}

/** An echo client and the close code it will get. */
async function echoClient(port: number): Promise<Client & { closeCode: Promise<number> }> {
  const client = await connect(port, '/ws/echo/')
  cleanups.push(() => client.ws.terminate())
  const closeCode = new Promise<number>((resolve) => client.ws.once('close', resolve))
  client.ws.send('ping')
  expect(await client.next()).toBe('ping')
  return Object.assign(client, { closeCode })
}

/** Resolves once nothing accepts connections on `port` any more: its server process is gone. */
async function portClosed(port: number): Promise<void> {
  await vi.waitFor(
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1')
        socket.once('connect', () => {
          socket.destroy()
          reject(new Error(`port ${port} still accepts connections`))
        })
        socket.once('error', () => resolve())
      }),
    { timeout: 15_000, interval: 100 },
  )
}

describe.each(REACTORS)('a port held by a %s server', (holder) => {
  it.each(REACTORS)(
    'serve --reactor %s refuses it: "Error: That port is already in use.", exit 1',
    async (reactor) => {
      const port = await freePort()
      const first = await serve(['-p', String(port), '--reactor', holder])
      const second = runBounded(['serve', '-p', String(port), '--reactor', reactor])
      expect(second.status).toBe(1)
      expect(second.stderr).toContain('Error: That port is already in use.')
      expect(second.stderr).toMatch(/^Listen failure: Cannot listen on tcp:127\.0\.0\.1:\d+: /m)
      expect(second.stderr.match(/Listen failure:/g)).toHaveLength(1)
      expect(second.stderr).not.toMatch(LISTENING)
      // Every connection still reaches the first server.
      for (let i = 0; i < 10; i++) expect((await httpGet(first.port, '/')).status).toBe(200)
    },
  )
})

describe.each(REACTORS)('listen failures on the %s reactor', (reactor) => {
  it('a unix socket in a missing folder: one "Listen failure:", exit 1', () => {
    const path = join(root, 'missing', 'app.sock')
    const result = runBounded(['serve', '-u', path, '--reactor', reactor])
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/^Listen failure: Cannot listen on unix:\S+app\.sock: /m)
    expect(result.stderr.match(/Listen failure:/g)).toHaveLength(1)
    expect(result.stderr).not.toContain('Error:')
  })
})

describe.each(REACTORS)('signals on the %s reactor', (reactor) => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s ends the process after the graceful stop, though user code holds a timer',
    async (signal) => {
      const consumers = join(project, 'chat/consumers.ts')
      const original = readFileSync(consumers, 'utf8')
      writeFileSync(consumers, `setInterval(() => {}, 60_000)\n${original}`)
      cleanups.push(() => writeFileSync(consumers, original))
      const server = await serve(['-p', '0', '--reactor', reactor])
      const client = await echoClient(server.port)
      expect(await server.stop(signal)).toBe(0)
      expect(await client.closeCode).toBe(1001)
    },
  )
})

/** npm (or npx) in the project, in a process group of its own, so a test can end all of it. */
function npm(args: string[]): Spawned & { child: ChildProcess } {
  const child = spawn(args[0]!, args.slice(1), {
    cwd: project,
    env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  cleanups.push(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // The whole group is gone already.
    }
  })
  return {
    child,
    stdout: () => output,
    stderr: () => output,
    exited,
    async waitForOutput(pattern, timeout = 30_000) {
      let match: RegExpMatchArray | null = null
      await vi.waitFor(
        () => {
          match = output.match(pattern)
          if (!match) throw new Error(`no ${pattern} yet:\n${output}`)
        },
        { timeout, interval: 50 },
      )
      return match!
    },
    async stop(signal = 'SIGTERM') {
      child.kill(signal)
      return exited
    },
  }
}

/** Start a server through npm, open `count` clients, SIGTERM npm: every client gets 1001. */
async function stopThroughNpm(command: string[], count: number): Promise<string> {
  const runner = npm(command)
  const port = Number((await runner.waitForOutput(LISTENING))[1])
  const clients: (Client & { closeCode: Promise<number> })[] = []
  for (let i = 0; i < count; i++) clients.push(await echoClient(port))
  // What a process manager or `docker stop` does: SIGTERM to the process it started, npm.
  runner.child.kill('SIGTERM')
  await vi.waitFor(
    async () => {
      const codes = await Promise.all(
        clients.map((c) => Promise.race([c.closeCode, Promise.resolve('open')])),
      )
      expect(codes).toEqual(clients.map(() => 1001))
    },
    { timeout: 15_000, interval: 100 },
  )
  await portClosed(port)
  await runner.exited
  return runner.stdout()
}

describe.each(REACTORS)('npm and npx on the %s reactor', (reactor) => {
  it('`npm start`, then SIGTERM to npm: the server gets it, closes every client', async () => {
    const output = await stopThroughNpm(['npm', 'start', '--', '-p', '0', '--reactor', reactor], 20)
    // The signal itself reached the server (`exec` in the script), not the parent-exit net.
    expect(output).not.toContain('Parent process exited')
  })

  it.each([
    ['a script without exec', ['npm', 'run', 'bare', '--']],
    ['npx', ['npx', 'channels', 'serve']],
  ])('%s: the shell npm signals dies, and the orphaned server stops itself', async (_, command) => {
    const file = join(project, 'package.json')
    const original = readFileSync(file, 'utf8')
    const pkg = JSON.parse(original) as { scripts: Record<string, string> }
    pkg.scripts.bare = 'channels serve'
    writeFileSync(file, JSON.stringify(pkg, null, 2))
    cleanups.push(() => writeFileSync(file, original))
    const output = await stopThroughNpm([...command, '-p', '0', '--reactor', reactor], 20)
    expect(output).toContain('Parent process exited; shutting down.')
  })
})
