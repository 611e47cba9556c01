/**
 * A real PostgreSQL for tests: Debian's server binaries, a fresh cluster in a temp dir, a free
 * port on 127.0.0.1, and one role with a password (scram-sha-256 over TCP) owning one database.
 * PostgreSQL refuses to run as root, so under uid 0 initdb and the server run as the `postgres`
 * user. A shell watchdog holds the server: it shuts PostgreSQL down and removes the cluster when
 * its stdin pipe closes, so a test process that crashes (or is killed) leaves nothing behind.
 * @module
 */
import { execFileSync, spawn } from 'node:child_process'
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { alive, killAtExit, readWatchdogPid, stopWatched, type Watched } from './watchdog.js'

/** Debian installs each major version's server binaries under `<this>/<version>/bin`. */
export const POSTGRES_ROOT = '/usr/lib/postgresql'

const INSTALL_HINT = "install Debian's PostgreSQL server: apt-get install postgresql"

/** The superuser initdb creates; tests reach it only over the unix socket (trust). */
const SUPERUSER = 'postgres'

/**
 * Settings that trade durability for speed: a test cluster is thrown away. A commit still
 * writes its WAL before it returns (synchronous_commit stays on), so after `stop('SIGKILL')`,
 * which kills processes and not the machine, `restart()` recovers every committed row.
 */
const SPEED_SETTINGS = ['fsync=off', 'full_page_writes=off']

/** Only the superuser over the socket without a password; everyone over TCP with one. */
const PG_HBA = [
  'local all all trust',
  'host all all 127.0.0.1/32 scram-sha-256',
  '', // PostgreSQL wants the last line terminated
].join('\n')

export interface PostgresServerOptions {
  /** Listen on this TCP port (default: a free one). */
  port?: number
  /** The role to create (default `channels`). */
  user?: string
  /** Its password (default: random). */
  password?: string
  /** The database to create, owned by `user` (default `channels`). */
  database?: string
  /** The directory holding initdb, postgres and psql (default: the newest under POSTGRES_ROOT). */
  binDir?: string
}

export interface PostgresServer {
  host: '127.0.0.1'
  port: number
  user: string
  password: string
  database: string
  /** The directory holding the server's unix socket (`.s.PGSQL.<port>`). */
  socketDir: string
  /** `postgres://user:password@127.0.0.1:port/database` */
  url: string
  /** The postmaster's process id (changes on `restart()`; 0 while stopped). */
  pid(): number
  /**
   * Stop the server and wait until all its processes are gone. `SIGTERM` is a fast shutdown
   * (clients are disconnected) and removes the cluster: the server is done. `SIGKILL` is a
   * crash: the cluster stays so `restart()` can recover it; a later `stop()` removes it.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
  /**
   * Start again on the same port with the same data, after a fast shutdown if it is running
   * (or after `stop('SIGKILL')`, through crash recovery); resolves once it accepts connections.
   */
  restart(): Promise<void>
  /**
   * Run SQL through psql as `user` over TCP (so with the password); resolves with psql's
   * unaligned, tuples-only stdout (`a|b` per row, trailing newline cut). Rejects on any error.
   */
  psql(sql: string): Promise<string>
  /** The server's log so far. */
  log(): string
}

/** Where to run PostgreSQL's programs as: the `postgres` user under root, else ourselves. */
interface RunAs {
  uid?: number
  gid?: number
}

type Running = Watched

const running = new Set<Running>()
/** Clusters not yet removed (a crashed server's data waits for `restart()` or `stop()`). */
const clusters = new Set<string>()

// $1 = postgres, $2 = its log file, $3 = the temp dir; the rest are postgres's arguments. The
// watchdog prints the postmaster's pid, then waits for a signal name on stdin, passes it on and
// waits for the postmaster to exit. EOF without a name means the test process died: immediate
// shutdown (SIGQUIT stops the backends too), then remove the cluster.
const WATCHDOG = [
  'server="$1"; log="$2"; dir="$3"; shift 3',
  '"$server" "$@" </dev/null >>"$log" 2>&1 &',
  'pid=$!',
  'echo "$pid"',
  'if read -r sig; then',
  '  kill -s "$sig" "$pid" 2>/dev/null',
  '  wait "$pid"',
  'else',
  '  kill -s QUIT "$pid" 2>/dev/null',
  '  wait "$pid"',
  '  rm -rf "$dir"',
  'fi',
  'exit 0',
].join('\n')

/** The newest `<root>/<version>/bin` that has initdb and postgres, or null. */
export function findPostgresBinDir(root: string = POSTGRES_ROOT): string | null {
  if (!existsSync(root)) return null
  const versions = readdirSync(root)
    .filter((name) => /^\d+(\.\d+)?$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
  for (const version of versions) {
    const bin = join(root, version, 'bin')
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin
  }
  return null
}

function resolveRunAs(): RunAs {
  if (process.getuid?.() !== 0) return {}
  let entry: string
  try {
    entry = execFileSync('getent', ['passwd', SUPERUSER], { encoding: 'utf8' })
  } catch {
    throw new Error(
      `PostgreSQL refuses to run as root and there is no ${SUPERUSER} user to run it as: ` +
        INSTALL_HINT,
    )
  }
  const [, , uid, gid] = entry.trim().split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

/** The postmaster's children (backends, checkpointer, walwriter...), read from /proc. */
function childPids(parent: number): number[] {
  const children: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === parent) children.push(Number(name))
    } catch {
      // exited while we looked
    }
  }
  return children
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Run one of PostgreSQL's programs to completion; resolves with stdout, rejects with stderr. */
function run(
  binary: string,
  args: string[],
  options: { runAs?: RunAs; cwd?: string; input?: string; env?: Record<string, string> } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      ...options.runAs,
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout.replace(/\n$/, ''))
      else reject(new Error(`${binary} ${args.join(' ')} (${code ?? signal}): ${stderr.trim()}`))
    })
    // A program that exits before reading its input (psql failing to connect) closes the pipe:
    // the EPIPE is that failure, which its exit status reports.
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
  })
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`
const quoteLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`

interface Cluster {
  binDir: string
  runAs: RunAs
  dir: string
  dataDir: string
  logPath: string
}

function launch(cluster: Cluster, port: number): Running {
  const args = ['-D', cluster.dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', cluster.dir]
  for (const setting of SPEED_SETTINGS) args.push('-c', setting)
  const postgres = join(cluster.binDir, 'postgres')
  const watchdog = spawn(
    '/bin/sh',
    ['-c', WATCHDOG, 'postgres-watchdog', postgres, cluster.logPath, cluster.dir, ...args],
    { ...cluster.runAs, cwd: cluster.dir, stdio: ['pipe', 'pipe', 'ignore'] },
  )
  const exited = new Promise<void>((resolve) => watchdog.once('exit', () => resolve()))
  return { watchdog, pid: 0, exited }
}

/**
 * The postmaster writes its pid, port and status into postmaster.pid; `ready` means it accepts
 * connections (after any crash recovery). The pid tells our server from a stale file.
 */
function ready(dataDir: string, pid: number): boolean {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')
    return Number(lines[0]) === pid && lines[7]?.trim() === 'ready'
  } catch {
    return false
  }
}

/** Start the postmaster and wait until it accepts connections; rejects if it exits first. */
async function startOn(cluster: Cluster, port: number): Promise<Running> {
  const logStart = existsSync(cluster.logPath) ? readFileSync(cluster.logPath).length : 0
  const server = launch(cluster, port)
  server.pid = await readWatchdogPid(server.watchdog, server.exited, 'postgres')
  running.add(server)
  // Crash recovery replays the WAL first; a test cluster's is small.
  const deadline = Date.now() + 30_000
  for (;;) {
    if (ready(cluster.dataDir, server.pid) && alive(server.pid)) return server
    if (!alive(server.pid) || Date.now() > deadline) {
      await halt(server, 'SIGKILL')
      const log = existsSync(cluster.logPath)
        ? readFileSync(cluster.logPath).subarray(logStart).toString().slice(-2_000)
        : ''
      throw new Error(`postgres on port ${port} did not start:\n${log}`)
    }
    await sleep(20)
  }
}

/** Stop the postmaster and wait until it and every process it started have exited. */
async function halt(server: Running, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const children = childPids(server.pid)
  // PostgreSQL's SIGTERM is a "smart" shutdown that waits for every client to leave; SIGINT is
  // the fast one that disconnects them.
  await stopWatched(server, signal === 'SIGKILL' ? 'KILL' : 'INT', 10_000)
  running.delete(server)
  // After a SIGKILL the backends notice their postmaster is gone and exit on their own; a new
  // postmaster refuses to start while they still hold the old shared memory.
  const deadline = Date.now() + 10_000
  while (children.some(alive) && Date.now() < deadline) await sleep(20)
}

async function initCluster(binDir: string, runAs: RunAs): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'channels-ts-pg-'))
  if (runAs.uid !== undefined) chownSync(dir, runAs.uid, runAs.gid!)
  const cluster = { binDir, runAs, dir, dataDir: join(dir, 'data'), logPath: join(dir, 'log') }
  clusters.add(dir)
  try {
    await run(
      join(binDir, 'initdb'),
      ['-D', cluster.dataDir, '-U', SUPERUSER, '-E', 'UTF8', '--locale=C', '--no-sync'],
      // The postgres user may not be able to enter our working directory.
      { runAs, cwd: dir },
    )
    // Rewriting the file keeps initdb's owner on it.
    writeFileSync(join(cluster.dataDir, 'pg_hba.conf'), PG_HBA)
  } catch (error) {
    removeCluster(cluster)
    throw error
  }
  return cluster
}

function removeCluster(cluster: Cluster): void {
  rmSync(cluster.dir, { recursive: true, force: true })
  clusters.delete(cluster.dir)
}

/**
 * Start a throwaway PostgreSQL cluster on a free port (or `options.port`) and resolve once the
 * role and its database exist and it accepts connections.
 */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const binDir = options.binDir ?? findPostgresBinDir()
  if (binDir === null || !existsSync(join(binDir, 'initdb'))) {
    throw new Error(
      `PostgreSQL's initdb not found in ${binDir ?? `${POSTGRES_ROOT}/*/bin`}: ${INSTALL_HINT}`,
    )
  }
  const runAs = resolveRunAs()
  // SIGQUIT is an immediate shutdown: the postmaster takes its backends down with it.
  killAtExit(running, 'SIGQUIT', () => {
    for (const dir of clusters) rmSync(dir, { recursive: true, force: true })
  })
  const cluster = await initCluster(binDir, runAs)
  let port = options.port ?? (await freePort())
  let current: Running | null = null
  // A free port can be taken between the probe and the postmaster's bind: try a few when none
  // was asked for.
  for (let attempt = 1; current === null; attempt++) {
    try {
      current = await startOn(cluster, port)
    } catch (error) {
      if (options.port !== undefined || attempt >= 3) {
        removeCluster(cluster)
        throw error
      }
      port = await freePort()
    }
  }
  const fixedPort = port
  const user = options.user ?? 'channels'
  const password = options.password ?? randomBytes(12).toString('hex')
  const database = options.database ?? 'channels'
  const psql = join(binDir, 'psql')
  const psqlArgs = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-p', String(fixedPort)]
  try {
    // Statement by statement from stdin: CREATE DATABASE cannot run inside -c's transaction.
    await run(psql, [...psqlArgs, '-h', cluster.dir, '-U', SUPERUSER, '-d', 'postgres'], {
      input: [
        `CREATE ROLE ${quoteIdent(user)} LOGIN PASSWORD ${quoteLiteral(password)};`,
        `CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(user)};`,
      ].join('\n'),
    })
  } catch (error) {
    await halt(current, 'SIGKILL')
    removeCluster(cluster)
    throw error
  }

  let removed = false
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    if (current !== null) {
      const server = current
      current = null
      await halt(server, signal)
      if (signal === 'SIGKILL') return
    }
    removed = true
    removeCluster(cluster)
  }
  const enc = encodeURIComponent
  return {
    host: '127.0.0.1',
    port: fixedPort,
    user,
    password,
    database,
    socketDir: cluster.dir,
    url: `postgres://${enc(user)}:${enc(password)}@127.0.0.1:${fixedPort}/${enc(database)}`,
    pid: () => current?.pid ?? 0,
    stop,
    async restart() {
      if (removed) throw new Error(`postgres on port ${fixedPort} was stopped and removed`)
      if (current !== null) {
        const server = current
        current = null
        await halt(server, 'SIGTERM')
      }
      current = await startOn(cluster, fixedPort)
    },
    psql(sql) {
      return run(psql, [...psqlArgs, '-h', '127.0.0.1', '-U', user, '-d', database], {
        input: sql,
        env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
      })
    },
    log: () => (existsSync(cluster.logPath) ? readFileSync(cluster.logPath, 'utf8') : ''),
  }
}
