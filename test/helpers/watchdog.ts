/**
 * What the service helpers (redis-server.ts, postgres.ts, django-site.ts) share about their
 * shell watchdogs: each starts the service in the background, prints its pid on the first line of
 * stdout, then waits on stdin for a signal name (or EOF) to pass on.
 */
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** The service's pid, from the watchdog's first line; rejects if the watchdog ends first. */
export function readWatchdogPid(
  watchdog: ChildProcess,
  exited: Promise<void>,
  service: string,
): Promise<number> {
  const stdout = watchdog.stdout
  if (stdout === null) return Promise.reject(new Error(`the ${service} watchdog has no stdout`))
  let text = ''
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString()
      const line = /^(\d+)\n/.exec(text)
      if (line) {
        stdout.off('data', onData)
        resolve(Number(line[1]))
      }
    }
    stdout.on('data', onData)
    watchdog.once('error', reject)
    void exited.then(() => reject(new Error(`${service} watchdog exited before starting`)))
  })
}

/** Running and not a zombie (a watchdog reaps its service only once told to stop). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return false
  }
}

const guarded = new WeakSet<ReadonlySet<{ pid: number }>>()

/**
 * When the test process exits normally, send `signal` to every service still in `running`, then
 * run `then` (a helper's own cleanup). The watchdogs also act once their stdin pipe closes, which
 * is after the process is gone; this is the direct path. Installed once per set.
 */
export function killAtExit(
  running: ReadonlySet<{ pid: number }>,
  signal: NodeJS.Signals,
  then?: () => void,
): void {
  if (guarded.has(running)) return
  guarded.add(running)
  process.once('exit', () => {
    for (const service of running) {
      try {
        process.kill(service.pid, signal)
      } catch {
        // already gone
      }
    }
    then?.()
  })
}

/** What a helper keeps of one watched service. */
export interface Watched {
  watchdog: ChildProcess
  pid: number
  exited: Promise<void>
}

/**
 * Tell the watchdog to pass `signalName` (`TERM`, `KILL`, …) to the service and wait until it has
 * exited; a service still running after `graceMs` is killed.
 */
export async function stopWatched(
  service: Watched,
  signalName: string,
  graceMs: number,
): Promise<void> {
  const stdin = service.watchdog.stdin
  if (stdin !== null && !stdin.destroyed) stdin.end(`${signalName}\n`)
  const timer = setTimeout(() => {
    try {
      process.kill(service.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }, graceMs)
  await service.exited
  clearTimeout(timer)
}
