/**
 * A real `redis-server` for tests: Debian's binary on a free port (and optionally a unix socket),
 * no persistence, in its own temp dir. A shell watchdog holds the server: it kills Redis when its
 * stdin pipe closes, so a test process that crashes (or is killed) leaves no server behind.
 * @module
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { alive, killAtExit, readWatchdogPid, stopWatched, type Watched } from './watchdog.js'

export const REDIS_SERVER = '/usr/bin/redis-server'
export const REDIS_CLI = '/usr/bin/redis-cli'

const INSTALL_HINT = "install Debian's redis-server: apt-get install redis-server"

/** Kernel clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100

export interface RedisServerOptions {
  /** Listen on this TCP port (default: a free one). */
  port?: number
  /** Also listen on a unix socket in the temp dir (see `socketPath`). */
  unixSocket?: boolean
  /** The redis-server binary (default: Debian's). */
  binary?: string
}

export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  url: string
  port: number
  /** The unix socket path when started with `unixSocket: true`. */
  socketPath?: string
  /** `unix://PATH` when started with `unixSocket: true`. */
  unixUrl?: string
  /** The redis-server process id (changes on `restart()`). */
  pid(): number
  /** Stop the server and wait for it to exit (`SIGKILL` simulates a crash). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
  /** Stop, then start again on the same port (and socket); resolves once it answers PING. */
  restart(): Promise<void>
  /** Run `redis-cli` against the server; resolves with its raw stdout (trailing newline cut). */
  cli(...args: string[]): Promise<string>
  /** User + system CPU seconds the current redis-server process has used. */
  cpuSeconds(): number
  /** The server's log file so far. */
  log(): string
}

interface Running extends Watched {
  stderr: string
}

const running = new Set<Running>()

// $1 = redis-server, the rest are its arguments. The watchdog prints Redis's pid, then waits for
// a signal name (or EOF) on stdin, passes it to Redis and waits for Redis to exit.
const WATCHDOG = [
  'server="$1"; shift',
  '"$server" "$@" </dev/null &',
  'pid=$!',
  'echo "$pid"',
  'read -r sig || sig=KILL',
  'kill -s "${sig:-KILL}" "$pid" 2>/dev/null',
  'wait "$pid"',
  'exit 0',
].join('\n')

function ping(target: { port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket =
      'port' in target ? net.connect(target.port, '127.0.0.1') : net.connect(target.path)
    let data = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1')
      if (data.includes('\r\n')) done(data.startsWith('+PONG'))
    })
  })
}

function launch(
  binary: string,
  dir: string,
  port: number,
  socketPath: string | undefined,
): Running {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--logfile',
    join(dir, 'redis.log'),
    '--daemonize',
    'no',
  ]
  if (socketPath !== undefined) args.push('--unixsocket', socketPath, '--unixsocketperm', '700')
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'redis-watchdog', binary, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => watchdog.once('exit', () => resolve()))
  const server: Running = { watchdog, pid: 0, exited, stderr: '' }
  // Redis logs to its file; stderr carries only errors before that opens (and shell noise).
  watchdog.stderr.on('data', (chunk: Buffer) => (server.stderr += chunk.toString()))
  return server
}

/** How many times the log says the server is ready (restarts append to the same log). */
function readyCount(logPath: string): number {
  return readFileSync(logPath, 'utf8').split('Ready to accept connections').length - 1
}

/** Start one server and wait until it answers PING; rejects if it exits first. */
async function startOn(
  binary: string,
  dir: string,
  port: number,
  socketPath: string | undefined,
): Promise<Running> {
  const logPath = join(dir, 'redis.log')
  const readyBefore = existsSync(logPath) ? readyCount(logPath) : 0
  const server = launch(binary, dir, port, socketPath)
  server.pid = await readWatchdogPid(server.watchdog, server.exited, 'redis')
  running.add(server)
  const deadline = Date.now() + 10_000
  for (;;) {
    // The log line tells our server from another one answering on the same port.
    const ready = existsSync(logPath) && readyCount(logPath) > readyBefore
    if (ready && alive(server.pid) && (await ping({ port }))) {
      if (socketPath === undefined || (await ping({ path: socketPath }))) return server
    }
    if (!alive(server.pid) || Date.now() > deadline) {
      await halt(server, 'SIGKILL')
      const log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : ''
      const output = `${server.stderr}${log}`.slice(-2_000)
      throw new Error(`redis-server on port ${port} did not answer PING:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function halt(server: Running, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  await stopWatched(server, signal.slice(3), 5_000)
  running.delete(server)
}

/**
 * Start Debian's redis-server on a free port (or `options.port`) with no persistence, in a temp
 * dir, and resolve once it answers PING.
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? REDIS_SERVER
  if (!existsSync(binary)) throw new Error(`${binary} not found: ${INSTALL_HINT}`)
  killAtExit(running, 'SIGKILL')
  const dir = mkdtempSync(join(tmpdir(), 'channels-ts-redis-'))
  const socketPath = options.unixSocket ? join(dir, 'redis.sock') : undefined
  let port = options.port ?? (await freePort())
  let current: Running | null = null
  // A free port can be taken between the probe and Redis's bind: try a few when none was asked.
  for (let attempt = 1; current === null; attempt++) {
    try {
      current = await startOn(binary, dir, port, socketPath)
    } catch (error) {
      if (options.port !== undefined || attempt >= 3) {
        rmSync(dir, { recursive: true, force: true })
        throw error
      }
      port = await freePort()
    }
  }
  const fixedPort = port
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    if (current === null) return
    const server = current
    current = null
    await halt(server, signal)
  }
  return {
    url: `redis://127.0.0.1:${fixedPort}`,
    port: fixedPort,
    socketPath,
    unixUrl: socketPath === undefined ? undefined : `unix://${socketPath}`,
    pid: () => current?.pid ?? 0,
    stop: async (signal) => {
      await stop(signal)
      rmSync(dir, { recursive: true, force: true })
    },
    async restart() {
      await stop('SIGTERM')
      mkdirSync(dir, { recursive: true })
      current = await startOn(binary, dir, fixedPort, socketPath)
    },
    cli(...args) {
      return new Promise((resolve, reject) => {
        execFile(
          REDIS_CLI,
          ['-h', '127.0.0.1', '-p', String(fixedPort), ...args],
          { encoding: 'utf8' },
          (error, stdout, stderr) => {
            // redis-cli exits 0 on error replies; it prints them as "ERR ..." in raw mode.
            if (error) reject(new Error(`redis-cli ${args.join(' ')}: ${stderr || error.message}`))
            else resolve(stdout.replace(/\n$/, ''))
          },
        )
      })
    },
    cpuSeconds() {
      if (current === null) return 0
      const stat = readFileSync(`/proc/${current.pid}/stat`, 'utf8')
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
    },
    log() {
      const path = join(dir, 'redis.log')
      return existsSync(path) ? readFileSync(path, 'utf8') : ''
    },
  }
}
