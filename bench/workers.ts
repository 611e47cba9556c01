/**
 * `channels serve --workers 2` against `--workers 1`: echo round trips over 50 connections to the
 * example project, 8 messages in flight on each (the Go wsbench's `-pipeline`; with one, the
 * round trip's latency rather than the server's work sets the pace), with the pub/sub Redis layer
 * configured (more than one worker refuses an in-memory layer; the echo consumer itself never
 * touches the layer). Three placements, each once per run, interleaved:
 *
 * - one worker (a single server, no supervisor) on core 0, the load generator on core 1: the
 *   main table's placement;
 * - one worker, nothing pinned: the same freedom the next one has;
 * - two workers, nothing pinned: the workers and the load generator share both cores, since on a
 *   2-core machine the load generator needs one too.
 *
 * Per placement: the round trips per second the load generator saw, server CPU per round trip
 * (the supervisor and every worker, from /proc), and how many cores the server processes and the
 * load generator kept busy over the window. A short echo first warms every worker's JIT.
 * @module
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  childPids,
  collectResult,
  cpuMicros,
  median,
  spawnPinned,
  tickMicros,
  waitForOutput,
} from './proc.js'
import { stopChild } from './redis.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LOADGEN = fileURLToPath(new URL('./loadgen.js', import.meta.url))

/** One placement of server and load generator. */
export interface WorkersSetup {
  key: string
  label: string
  workers: 1 | 2
  /** Server on core 0 and load generator on core 1; otherwise the scheduler places both. */
  pinned: boolean
}

export const WORKERS_SETUPS: readonly WorkersSetup[] = [
  { key: 'one-pinned', label: '--workers 1, server core 0, load core 1', workers: 1, pinned: true },
  { key: 'one', label: '--workers 1, unpinned', workers: 1, pinned: false },
  { key: 'two', label: '--workers 2, unpinned (load shares the cores)', workers: 2, pinned: false },
]

/** How hard the echo pushes; `--quick` shrinks it to a smoke run. */
export interface WorkersWorkload {
  conns: number
  /**
   * Messages in flight per connection (the Go wsbench's `-pipeline`; bench/loadgen.ts keeps
   * one): enough that a single worker's core, not the round trip's latency, sets the pace.
   */
  pipeline: number
  ms: number
  warmMs: number
}

export const FULL_WORKERS: WorkersWorkload = { conns: 50, pipeline: 8, ms: 5000, warmMs: 1000 }
export const QUICK_WORKERS: WorkersWorkload = { conns: 4, pipeline: 1, ms: 300, warmMs: 100 }

/** Which load generator drives the echo (the same choice as the cross-process section's). */
export type WorkersLoadgen = { kind: 'node' } | { kind: 'wsbench'; path: string }

/** The figures of one placement in one run. */
export interface WorkersFigures {
  /** Echo round trips per second, as the load generator counted them. */
  rate: number
  /** Server CPU per round trip, the supervisor and every worker summed (µs). */
  serverUsPerEcho: number
  /** Server CPU time over the window ÷ the window: cores the server kept busy. */
  serverCores: number
  /** The same for the load generator. */
  loadgenCores: number
  /** The supervisor's part of the server CPU (0 without a supervisor). */
  supervisorShare: number
  errors: number
}

/** Start the example with `setup.workers`, warm it, run one measured echo, stop it. */
export async function runWorkersEcho(
  setup: WorkersSetup,
  port: number,
  workload: WorkersWorkload,
  loadgen: WorkersLoadgen,
  nodeFlags: readonly string[],
  redisUrl: string,
): Promise<WorkersFigures> {
  const pinned = setup.pinned
  const command = [
    process.execPath,
    ...nodeFlags,
    join(ROOT, 'dist/bin/channels.js'),
    'serve',
    ...['-b', '127.0.0.1', '-p', String(port), '--workers', String(setup.workers)],
    // Info lines say when every worker listens; the access log (a line per connect) goes nowhere.
    ...['-v', '1', '--access-log', '/dev/null'],
  ]
  const server = spawnPinned(pinned ? 0 : null, command, {
    cwd: join(ROOT, 'example'),
    env: { ...process.env, REDIS_URL: redisUrl, CHANNEL_LAYER_BACKEND: 'pubsub' },
  })
  try {
    const ready = setup.workers > 1 ? /All \d+ workers are listening/ : /Listening on TCP/
    await waitForOutput(server, ready, 30_000)
    const supervisor = server.pid!
    // A single server (--workers 1) is its own process, with no workers under it.
    const workers = setup.workers > 1 ? childPids(supervisor) : []
    if (setup.workers > 1 && workers.length !== setup.workers)
      throw new Error(
        `expected ${setup.workers} workers under pid ${supervisor}, found [${workers.join(', ')}]`,
      )
    const pids = [supervisor, ...workers]
    const url = `ws://127.0.0.1:${port}/ws/echo/`
    const origin = `http://127.0.0.1:${port}`
    await echo(loadgen, pinned, url, origin, { ...workload, ms: workload.warmMs }, () => undefined)

    const read = () => pids.map(cpuMicros)
    const start = { cpu: read(), at: performance.now() }
    let end = { cpu: start.cpu, at: start.at, loadgen: 0 }
    const fields = await echo(loadgen, pinned, url, origin, workload, (pid) => {
      // Ticks, not schedstat: the Go wsbench ends threads as it finishes, and an ended thread's
      // schedstat leaves /proc with it while /proc/<pid>/stat keeps its time.
      end = { cpu: read(), at: performance.now(), loadgen: tickMicros(pid) }
    })
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
    const used = end.cpu.map((t, i) => t - start.cpu[i]!)
    const windowUs = (end.at - start.at) * 1000
    const msgs = Number(fields.msgs)
    return {
      rate: Number(fields.rate),
      serverUsPerEcho: sum(used) / msgs,
      serverCores: sum(used) / windowUs,
      loadgenCores: end.loadgen / windowUs,
      supervisorShare: setup.workers > 1 ? used[0]! / sum(used) : 0,
      errors: Number(fields.errors),
    }
  } finally {
    await stopChild(server)
  }
}

/**
 * One echo run; `atResult` gets the load generator's pid when its RESULT line arrives (it is
 * still alive then, so its own CPU time can be read).
 */
function echo(
  loadgen: WorkersLoadgen,
  pinned: boolean,
  url: string,
  origin: string,
  workload: Pick<WorkersWorkload, 'conns' | 'pipeline' | 'ms'>,
  atResult: (pid: number) => void,
): Promise<Record<string, string>> {
  const { conns, pipeline, ms } = workload
  const argv =
    loadgen.kind === 'wsbench'
      ? [loadgen.path, 'echo', '-url', url, '-origin', origin, '-c', String(conns), '-d', `${ms}ms`]
      : [process.execPath, LOADGEN, '--origin', origin, 'echo', '--url', url]
  if (loadgen.kind === 'wsbench') argv.push('-pipeline', String(pipeline))
  else argv.push('-c', String(conns), '-d', String(ms))
  const child = spawnPinned(pinned ? 1 : null, argv, { cwd: ROOT })
  return collectResult(child, (line) => {
    if (line.startsWith('RESULT ')) atResult(child.pid!)
  })
}

/** Medians per placement over the runs. */
export interface WorkersReport {
  workload: WorkersWorkload
  loadgen: string
  setups: { key: string; label: string }[]
  medians: Record<string, WorkersFigures>
  raw: Record<string, WorkersFigures[]>
}

export function summariseWorkers(
  raw: Record<string, WorkersFigures[]>,
  workload: WorkersWorkload,
  loadgen: string,
): WorkersReport {
  const setups = WORKERS_SETUPS.filter((s) => raw[s.key]).map(({ key, label }) => ({ key, label }))
  const medians: Record<string, WorkersFigures> = {}
  for (const { key } of setups) {
    const runs = raw[key]!
    const med = (field: keyof WorkersFigures) => median(runs.map((f) => f[field]))
    medians[key] = {
      rate: med('rate'),
      serverUsPerEcho: med('serverUsPerEcho'),
      serverCores: med('serverCores'),
      loadgenCores: med('loadgenCores'),
      supervisorShare: med('supervisorShare'),
      errors: runs.reduce((n, f) => n + f.errors, 0),
    }
  }
  return { workload, loadgen, setups, medians, raw }
}

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '—')

/** The section's Markdown table: one column per placement. */
export function renderWorkersTable(report: WorkersReport): string {
  const { setups, medians } = report
  const head = ['figure', ...setups.map((s) => s.label)]
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`]
  const row = (label: string, pick: (f: WorkersFigures) => string) =>
    lines.push(`| ${label} | ${setups.map((s) => pick(medians[s.key]!)).join(' | ')} |`)
  row('echo round trips per second', (f) => fmt(f.rate, 0))
  row('server CPU per round trip, all processes (µs)', (f) => fmt(f.serverUsPerEcho))
  row('cores busy: server processes', (f) => fmt(f.serverCores))
  row('cores busy: load generator', (f) => fmt(f.loadgenCores))
  row("supervisor's share of the server CPU", (f) => fmt(f.supervisorShare, 3))
  row('errors (all runs)', (f) => String(f.errors))
  return lines.join('\n')
}
