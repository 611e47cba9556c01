/**
 * A throwaway `redis-server` for the cross-process benchmark: no persistence, its own free port,
 * optionally pinned to a core, stopped when the run is done. The benchmark reads its CPU time
 * from /proc like a server's, so it must be a child process of its own (not a shared Redis).
 * @module
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { createConnection, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { spawnPinned } from './proc.js'

/** A running redis-server. */
export interface RedisProcess {
  pid: number
  port: number
  url: string
  stop(): Promise<void>
}

/** The redis-server binary: `$REDIS_SERVER`, else the one on PATH (Debian's `redis-server`). */
export function redisServerBinary(): string {
  return process.env.REDIS_SERVER ?? 'redis-server'
}

/** True when `redis-server` can be started here. */
export function haveRedisServer(): boolean {
  return spawnSync(redisServerBinary(), ['--version']).status === 0
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Start redis-server on a free port (on `core` when not null); resolves once it answers PING. */
export async function startRedis(core: number | null): Promise<RedisProcess> {
  const port = await freePort()
  const child = spawnPinned(
    core,
    [
      redisServerBinary(),
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      tmpdir(),
      '--loglevel',
      'warning',
    ],
    { cwd: tmpdir() },
  )
  let output = ''
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()))
  const deadline = Date.now() + 10_000
  while (!(await ping(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopChild(child)
      throw new Error(`redis-server on port ${port} did not start\n${output.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 30))
  }
  return {
    pid: child.pid!,
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => stopChild(child),
  }
}

/** Whether a Redis on `port` answers PING with PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
