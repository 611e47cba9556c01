/**
 * Reading a process's own resource use from /proc, and running pinned child processes.
 * Server CPU time per unit of work is the benchmark's figure: it does not depend on how fast
 * the load generator is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { get } from 'node:http'
import { availableParallelism } from 'node:os'
import { createInterface } from 'node:readline'

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on Linux). */
// stdout is null when getconf cannot be spawned.
const getconf = spawnSync('getconf', ['CLK_TCK']).stdout as Buffer | null
const TICKS_PER_SECOND = Number(getconf?.toString().trim()) || 100

/**
 * CPU time of a process (all its threads), in microseconds: the scheduler's nanosecond on-CPU
 * time summed over /proc/<pid>/task/<tid>/schedstat. /proc/<pid>/stat's utime + stime count in
 * 10 ms ticks, which over the 5,000 handshakes of a steady-state figure is a 2 µs step; that is
 * the fallback when schedstat is not available.
 */
export function cpuMicros(pid: number): number {
  try {
    let nanos = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
    if (nanos > 0 && Number.isFinite(nanos)) return nanos / 1000
  } catch {
    // No schedstat (kernel without CONFIG_SCHEDSTATS): ticks below.
  }
  return tickMicros(pid)
}

/** User + system CPU time from /proc/<pid>/stat (10 ms resolution), in microseconds. */
export function tickMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return ((utime + stime) * 1e6) / TICKS_PER_SECOND
}

/** Resident set size of a process, in KiB. */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /VmRSS:\s+(\d+) kB/.exec(status)
  return match ? Number(match[1]) : 0
}

/** True when the machine can pin the server and the load generator to different cores. */
export function canPin(): boolean {
  return availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0
}

/** Spawn `command` pinned to `core` when pinning is possible (taskset execs, so the pid is the program's). */
export function spawnPinned(
  core: number | null,
  command: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): ChildProcess {
  const argv = core === null ? command : ['taskset', '-c', String(core), ...command]
  return spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Resolve once `GET url` answers 200, polling; reject after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = get(url, (res) => {
        res.resume()
        resolve(res.statusCode === 200)
      })
      req.on('error', () => resolve(false))
      req.setTimeout(1000, () => req.destroy())
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`server did not answer GET ${url} within ${timeoutMs} ms`)
}

/** Calls `onLine` for every stdout line of `child`; resolves with the `RESULT` fields when it exits. */
export function collectResult(
  child: ChildProcess,
  onLine: (line: string) => void,
): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    let result: Record<string, string> | null = null
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      onLine(line)
      if (line.startsWith('RESULT ')) result = parseResult(line)
    })
    child.on('exit', (code) => {
      if (result) resolve(result)
      else reject(new Error(`load generator exited with ${code} and no RESULT line\n${stderr}`))
    })
  })
}

/** `RESULT a=1 b=x` → `{ a: '1', b: 'x' }`. */
export function parseResult(line: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const part of line.slice('RESULT '.length).split(' ')) {
    const eq = part.indexOf('=')
    if (eq > 0) fields[part.slice(0, eq)] = part.slice(eq + 1)
  }
  return fields
}

/** Median of a list of numbers (NaN for an empty list). */
export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The pids of `pid`'s child processes whose command is `comm` (a supervisor's workers). */
export function childPids(pid: number, comm = 'node'): number[] {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // a process that ended between the listing and the read
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    // The field after the state is the parent pid.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid === pid && name === comm) children.push(Number(entry))
  }
  return children
}

/** Resolve once `child`'s stdout or stderr so far matches `pattern`; reject on exit or timeout. */
export function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = ''
    const done = (error?: Error) => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolve()
    }
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (pattern.test(output)) done()
    }
    const onExit = (code: number | null) =>
      done(new Error(`exited with ${code} before ${pattern}\n${output.slice(-2000)}`))
    const timer = setTimeout(
      () => done(new Error(`no ${pattern} within ${timeoutMs} ms\n${output.slice(-2000)}`)),
      timeoutMs,
    )
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
  })
}
