/**
 * A live server in its own process: this package's `channels serve` run on a free port for a
 * project folder, the way production runs it (the project's settings, its ASGI_APPLICATION, its
 * channel layers). The role of Daphne's `DaphneProcess` and Channels' `ChannelsLiveServerTestCase`:
 * start, wait until it listens, hand back the URLs, stop with SIGTERM and report how it ended.
 * @module
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ReactorChoice } from '../server/index.js'
import { hostForUrl } from './live-server.js'

/** What {@link startLiveServerProcess} takes. */
export interface LiveServerProcessOptions {
  /** The project folder `channels serve` runs in (default: the current directory). */
  cwd?: string
  /** `--settings`: the settings module (default: `$CHANNELS_SETTINGS_MODULE`, then `./settings.ts`). */
  settings?: string
  /** The application as `module:attr` (default: the settings' ASGI_APPLICATION). */
  application?: string
  /** Environment variables over the test's own; `undefined` removes one. */
  env?: Record<string, string | undefined>
  /** `-b`: the interface to listen on (default `127.0.0.1`). */
  host?: string
  /** `-p`: the port (default 0: one the system picks, free). */
  port?: number
  /** `--reactor` (default: serve's own, `auto`). */
  reactor?: ReactorChoice
  /** More `channels serve` flags, e.g. `['--websocket_timeout', '5']`. */
  args?: readonly string[]
  /** How long to wait for the server to listen before giving up (default 30 000 ms). */
  startTimeout?: number
  /** How long `stop()` waits after SIGTERM before SIGKILL (default 20 000 ms). */
  stopTimeout?: number
}

/** How the process ended, with everything it printed. */
export interface LiveServerProcessExit {
  /** The exit code; null when a signal ended it. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A running `channels serve` process. */
export interface LiveServerProcess {
  /** `http://HOST:PORT`, no trailing slash. */
  readonly url: string
  /** `ws://HOST:PORT`, no trailing slash. */
  readonly wsUrl: string
  readonly host: string
  readonly port: number
  readonly pid: number
  /** What it has printed on stdout so far (serve's access log). */
  readonly stdout: string
  /** What it has printed on stderr so far (serve's log). */
  readonly stderr: string
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<LiveServerProcessExit>
  /**
   * Send SIGTERM (serve's graceful stop), wait for the exit (SIGKILL after `stopTimeout`) and
   * report it. Calling it again, or after the process ended by itself, reports the same exit.
   */
  stop(): Promise<LiveServerProcessExit>
}

/** `channels serve` did not start: its exit (or the timeout) and its output. */
export class LiveServerProcessError extends Error {
  override name = 'LiveServerProcessError'
  constructor(
    message: string,
    readonly exit: LiveServerProcessExit,
  ) {
    super(message)
  }
}

/** serve's line once a TCP listener is up (src/cli/serve.ts), whatever the log format. */
const LISTENING = /Listening on TCP address (\S+):(\d+)\r?\n/
// eslint-disable-next-line no-control-regex -- ANSI colour codes, should the env force colour
const ANSI = /\u001b\[[0-9;]*m/g

/**
 * Runs in the child before the CLI (`node --import`, as a data: URL, so it is one self-contained
 * function that uses nothing but Node's globals). Two guards:
 *
 * - A stop that comes early is kept, not fatal. serve subscribes to SIGINT/SIGTERM only after it
 *   printed its listening line, so a SIGTERM sent as soon as the line arrives could meet the
 *   default action and kill it mid-start, not stop it gracefully. Until serve's own listener is
 *   there, one here holds such a signal and sends it again once serve listens for it.
 * - No orphans: when the process that started the server is gone (a test runner killed mid-run)
 *   it gets SIGTERM, as the CLI does under npm (src/cli/parent-watch.ts), so no server outlives
 *   its test.
 */
function childPreload(): void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']
  const held = new Set<NodeJS.Signals>()
  const hold = (signal: NodeJS.Signals) => held.add(signal)
  for (const signal of signals) process.on(signal, hold)
  const watch = (event: string | symbol) => {
    if (!signals.includes(event as NodeJS.Signals)) return
    process.off('newListener', watch)
    // The CLI adds its listeners for both signals in one go: hand over after that.
    setImmediate(() => {
      for (const signal of signals) process.off(signal, hold)
      for (const signal of held) process.kill(process.pid, signal)
    })
  }
  process.on('newListener', watch)
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM')
  }, 500).unref()
}

const CHILD_PRELOAD = `data:text/javascript,${encodeURIComponent(`(${childPreload.toString()})()`)}`

/**
 * The `channels` binary of the installed channels-ts package this module belongs to: the `bin`
 * of the nearest package.json above this file named `channels-ts` (built: `dist/bin/channels.js`).
 */
export function channelsBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
        name?: string
        bin?: string | Record<string, string>
      }
      if (pkg.name === 'channels-ts') {
        const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.channels
        if (bin === undefined) throw new Error(`${manifest} names no channels binary`)
        const path = resolve(dir, bin)
        if (!existsSync(path))
          throw new Error(`The channels binary ${path} does not exist (is channels-ts built?)`)
        return path
      }
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('channels-ts: no package.json found above its own module')
    dir = parent
  }
}

/**
 * Run `channels serve` (this package's binary, on this Node) in `options.cwd` and resolve once it
 * listens. Rejects with a {@link LiveServerProcessError} carrying its exit code and output when
 * it exits first (bad settings, a busy port) or does not listen within `startTimeout` (it is
 * stopped then).
 */
export async function startLiveServerProcess(
  options: LiveServerProcessOptions = {},
): Promise<LiveServerProcess> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TypeError(`startLiveServerProcess(): port must be 0-65535, got ${String(port)}`)
  const cwd = resolve(options.cwd ?? process.cwd())
  if (!existsSync(cwd))
    throw new Error(`startLiveServerProcess(): the folder ${cwd} does not exist`)
  const args = ['serve', '-b', host, '-p', String(port)]
  if (options.settings !== undefined) args.push('--settings', options.settings)
  if (options.reactor !== undefined) args.push('--reactor', options.reactor)
  args.push(...(options.args ?? []))
  if (options.application !== undefined) args.push(options.application)
  // Plain output (the listening line is read from it) unless the caller asks otherwise.
  const env = Object.fromEntries(
    Object.entries({
      ...process.env,
      NO_COLOR: '1',
      FORCE_COLOR: undefined,
      ...options.env,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  )
  const bin = channelsBin()
  const child = spawn(process.execPath, ['--import', CHILD_PRELOAD, bin, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // Spawn failures are reported by the start below; a failed kill later has nothing to add.
  child.on('error', () => undefined)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  const exited = new Promise<LiveServerProcessExit>((done) => {
    // 'close': the exit and the end of both pipes, so nothing printed last is missing. A
    // process that could not be spawned closes too, after its 'error'.
    child.once('close', (code, signal) => done({ code, signal, stdout, stderr }))
  })
  const command = `channels ${args.join(' ')} (in ${cwd})`

  const stopTimeout = options.stopTimeout ?? 20_000
  let stopping: Promise<LiveServerProcessExit> | undefined
  const stop = (): Promise<LiveServerProcessExit> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeout)
      const exit = await exited
      clearTimeout(timer)
      return exit
    })()
    return stopping
  }

  const startTimeout = options.startTimeout ?? 30_000
  const listening = await new Promise<{ port: number } | { failed: string }>((done) => {
    const check = () => {
      const match = (stderr + stdout).replace(ANSI, '').match(LISTENING)
      if (match) finish({ port: Number(match[2]) })
    }
    const onClose = (code: number | null, signal: NodeJS.Signals | null) =>
      finish({
        failed: `${command} exited (${signal ?? `code ${String(code)}`}) before it listened`,
      })
    const onError = (error: Error) => finish({ failed: `${command} failed: ${error.message}` })
    const timer = setTimeout(
      () => finish({ failed: `${command} did not listen within ${startTimeout} ms` }),
      startTimeout,
    )
    const finish = (result: { port: number } | { failed: string }) => {
      clearTimeout(timer)
      child.stdout.off('data', check)
      child.stderr.off('data', check)
      child.off('close', onClose)
      child.off('error', onError)
      done(result)
    }
    child.stdout.on('data', check)
    child.stderr.on('data', check)
    child.once('close', onClose)
    child.once('error', onError)
  })
  if ('failed' in listening) {
    const exit = await stop()
    const output = [exit.stderr.trimEnd(), exit.stdout.trimEnd()].filter(Boolean).join('\n')
    throw new LiveServerProcessError(
      `${listening.failed}${output ? `:\n${output}` : ' and printed nothing'}`,
      exit,
    )
  }
  const urlHost = hostForUrl(host)
  return {
    url: `http://${urlHost}:${listening.port}`,
    wsUrl: `ws://${urlHost}:${listening.port}`,
    host: urlHost,
    port: listening.port,
    pid: child.pid!,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    exited,
    stop,
  }
}
