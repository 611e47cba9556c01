/**
 * The cross-process group-delivery benchmark: one chat room whose members are split over two
 * server processes that share one Redis. Per subject and run: a fresh redis-server, two server
 * processes pinned to core 0 (their CPU summed), the load generator on core 1 with Redis, and
 * three fan-outs with the members alternating between the two processes (the sender on the
 * first): a warm-up, then a short and a long one. The figure is the marginal cost of the long
 * fan-out's extra messages (long minus short, as `steady.sh` measures), so fixed costs cancel.
 * One subject is `channels serve --workers 2`: one port, the kernel splits the members over the
 * two workers, and its CPU is the supervisor's and both workers' on the same core 0.
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
  waitForHttp,
  waitForOutput,
} from './proc.js'
import { startRedis, stopChild } from './redis.js'
import { perRunRatios, ratioRange, SUBJECT } from './report.js'
import { serverSpecs } from './server-specs.js'
import { runLoadgen } from './ws-phases.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DIST = join(ROOT, 'dist')

/** Core for the servers (both processes share it); Redis and the load generator share the other. */
const SERVER_CORE = 0
const CLIENT_CORE = 1

/** A server that scales out over Redis: how to start one of its processes. */
export interface ClusterSpec {
  name: string
  label: string
  cwd: string
  command: (port: number, redisUrl: string) => string[]
  env?: (redisUrl: string) => Record<string, string>
  /** The clients speak Socket.IO's protocol. */
  sio?: boolean
  /**
   * One process on one port runs the room (a supervisor and its workers, whose CPU counts with
   * it); it is ready when its output matches this. Otherwise two processes, ready when they
   * answer HTTP.
   */
  onePort?: { ready: RegExp }
}

/** How hard the fan-outs push; `--quick` shrinks them to a smoke run. */
export interface ClusterWorkload {
  /** Room members, split over the two processes. */
  members: number
  /** Messages of the long fan-out and of the short one; the figure is their difference. */
  messages: number
  baseMessages: number
  everyMs: number
  warmMembers: number
  warmMessages: number
  /** How long the load generator waits for messages that do not arrive. */
  timeoutMs: number
}

export const FULL_CLUSTER: ClusterWorkload = {
  members: 1000,
  messages: 100,
  baseMessages: 25,
  everyMs: 5,
  warmMembers: 200,
  warmMessages: 20,
  timeoutMs: 15_000,
}

export const QUICK_CLUSTER: ClusterWorkload = {
  members: 20,
  messages: 5,
  baseMessages: 2,
  everyMs: 5,
  warmMembers: 10,
  warmMessages: 2,
  timeoutMs: 5000,
}

/** The four subjects: two references and the example project on each Redis layer. */
export function clusterSpecs(nodeFlags: readonly string[]): Record<string, ClusterSpec> {
  const node = (script: string, ...args: string[]): string[] => [
    process.execPath,
    ...nodeFlags,
    script,
    ...args,
  ]
  const example = serverSpecs(nodeFlags)[SUBJECT]!
  const channels = (layer: 'core' | 'pubsub'): ClusterSpec => ({
    name: `${SUBJECT}-${layer}`,
    label: `${SUBJECT} ${layer} layer`,
    cwd: example.cwd,
    command: (port) => example.command(port),
    // example/settings.ts picks a Redis layer when REDIS_URL is set.
    env: (redisUrl) => ({ REDIS_URL: redisUrl, CHANNEL_LAYER_BACKEND: layer }),
  })
  const workers: ClusterSpec = {
    name: `${SUBJECT}-workers`,
    label: `${SUBJECT} pub/sub layer, serve --workers 2`,
    cwd: example.cwd,
    command: (port) =>
      node(
        join(DIST, 'bin/channels.js'),
        'serve',
        '-b',
        '127.0.0.1',
        '-p',
        String(port),
        ...['--workers', '2', '-v', '1', '--access-log', '/dev/null'],
      ),
    env: (redisUrl) => ({ REDIS_URL: redisUrl, CHANNEL_LAYER_BACKEND: 'pubsub' }),
    // Info lines say when both workers listen; the access log (the joins) goes nowhere.
    onePort: { ready: /All 2 workers are listening/ },
  }
  return {
    'uws-redis': {
      name: 'uws-redis',
      label: 'raw uWS + Redis pub/sub',
      cwd: ROOT,
      command: (port, url) => node(join(DIST, 'bench/servers/raw-uws-redis.js'), String(port), url),
    },
    'socketio-redis': {
      name: 'socketio-redis',
      label: 'Socket.IO + redis-adapter',
      cwd: ROOT,
      command: (port, url) =>
        node(join(DIST, 'bench/servers/socketio-redis.js'), String(port), url),
      sio: true,
    },
    [`${SUBJECT}-core`]: channels('core'),
    [`${SUBJECT}-pubsub`]: channels('pubsub'),
    [workers.name]: workers,
  }
}

export const CLUSTER_SUBJECTS = Object.keys(clusterSpecs([]))

/** The figures of one run against one subject. */
export interface ClusterFigures {
  /** Server CPU per delivery, both processes, marginal (long fan-out minus short). */
  serverUsPerDelivery: number
  /** Redis CPU per delivery, marginal. */
  redisUsPerDelivery: number
  /** The same over the long fan-out alone (fixed costs included), for information. */
  serverUsPerDeliveryWhole: number
  redisUsPerDeliveryWhole: number
  /** Share of the long fan-out's server CPU spent by the first process (the sender's). */
  firstProcessShare: number
  /** Delivery latency of the long fan-out (send → member), median and 99th percentile. */
  p50Ms: number
  p99Ms: number
  /** Messages expected minus received, over all three fan-outs. */
  lost: number
}

/** Which load generator drives the fan-outs. */
export type ClusterLoadgen = { kind: 'node' } | { kind: 'wsbench'; path: string }

interface Window {
  fields: Record<string, string>
  /** CPU per server process group (a process, or a supervisor and its workers). */
  servers: number[]
  redis: number
  deliveries: number
  lost: number
}

/**
 * One fan-out, measured. With the project's load generator the window runs from its `STARTED`
 * (members joined) to `DELIVERED` (all arrived, before the sockets close); with the Go `wsbench`,
 * which prints no markers, from its start to its exit (the joins cancel in the marginal figure).
 */
async function fanout(
  loadgen: ClusterLoadgen,
  pinned: boolean,
  urls: string[],
  room: string,
  members: number,
  messages: number,
  workload: ClusterWorkload,
  spec: ClusterSpec,
  pids: { servers: number[][]; redis: number },
): Promise<Window> {
  const read = () => ({
    servers: pids.servers.map((group) => group.reduce((sum, pid) => sum + cpuMicros(pid), 0)),
    redis: cpuMicros(pids.redis),
  })
  const list = urls.map((u) => `${u}/ws/chat/${room}/`).join(',')
  const origin = urls[0]!.replace(/^ws/, 'http')
  let start = read()
  let end = start
  let fields: Record<string, string>
  if (loadgen.kind === 'node') {
    const args = ['--origin', origin, 'fanout', '--url', list, '-c', String(members)]
    args.push('-m', String(messages), '--every', String(workload.everyMs))
    args.push('--timeout', String(workload.timeoutMs), ...(spec.sio ? ['--sio'] : []))
    fields = await runLoadgen(pinned, args, (line) => {
      if (line === 'STARTED') start = read()
      if (line === 'DELIVERED') end = read()
    })
  } else {
    const args = ['fanout', '-origin', origin, '-url', list, '-c', String(members)]
    args.push('-m', String(messages), '-every', `${workload.everyMs}ms`, '-json')
    args.push('-timeout', `${workload.timeoutMs}ms`, ...(spec.sio ? ['-sio'] : []))
    const child = spawnPinned(pinned ? CLIENT_CORE : null, [loadgen.path, ...args], {
      cwd: ROOT,
    })
    fields = await collectResult(child, () => undefined)
    end = read()
  }
  const received = Number(fields.received)
  // The project's load generator also counts the sender's own copies; the Go one drains them.
  const senders = Number(fields.sender_received ?? 0)
  return {
    fields,
    servers: end.servers.map((t, i) => t - start.servers[i]!),
    redis: end.redis - start.redis,
    deliveries: received + senders,
    lost: Number(fields.expected) - received,
  }
}

/** Redis, two processes of `spec`, three fan-outs; everything stopped before it returns. */
export async function runCluster(
  spec: ClusterSpec,
  ports: [number, number],
  workload: ClusterWorkload,
  pinned: boolean,
  loadgen: ClusterLoadgen = { kind: 'node' },
): Promise<ClusterFigures> {
  // Redis shares the client's core: core 0 and its CPU time are the servers'.
  const redis = await startRedis(pinned ? CLIENT_CORE : null)
  const env = { ...process.env, ...spec.env?.(redis.url) }
  const used = spec.onePort ? ports.slice(0, 1) : ports
  const servers = used.map((port) =>
    spawnPinned(pinned ? SERVER_CORE : null, spec.command(port, redis.url), { cwd: spec.cwd, env }),
  )
  let output = ''
  for (const server of servers) {
    server.stdout?.on('data', (c: Buffer) => (output += c.toString()))
    server.stderr?.on('data', (c: Buffer) => (output += c.toString()))
  }
  try {
    await Promise.all(
      used.map((port, i) =>
        (spec.onePort
          ? waitForOutput(servers[i]!, spec.onePort.ready, 30_000)
          : waitForHttp(`http://127.0.0.1:${port}/`, 20_000)
        ).catch((error: unknown) => {
          throw new Error(`${spec.name}: ${(error as Error).message}\n${output.slice(-2000)}`)
        }),
      ),
    )
    // A supervisor's group: itself first, then its workers, each counted on its own so the
    // first process share is the supervisor's.
    const pids = {
      servers: spec.onePort
        ? [[servers[0]!.pid!], ...childPids(servers[0]!.pid!).map((pid) => [pid])]
        : servers.map((s) => [s.pid!]),
      redis: redis.pid,
    }
    const urls = used.map((port) => `ws://127.0.0.1:${port}`)
    const run = (room: string, members: number, messages: number) =>
      fanout(loadgen, pinned, urls, room, members, messages, workload, spec, pids)
    const warm = await run('warm', workload.warmMembers, workload.warmMessages)
    const short = await run('short', workload.members, workload.baseMessages)
    const long = await run('long', workload.members, workload.messages)
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
    const extra = long.deliveries - short.deliveries
    const per = (cpu: number, n: number) => (n > 0 ? cpu / n : Number.NaN)
    return {
      serverUsPerDelivery: per(sum(long.servers) - sum(short.servers), extra),
      redisUsPerDelivery: per(long.redis - short.redis, extra),
      serverUsPerDeliveryWhole: per(sum(long.servers), long.deliveries),
      redisUsPerDeliveryWhole: per(long.redis, long.deliveries),
      firstProcessShare: long.servers[0]! / sum(long.servers),
      p50Ms: Number(long.fields.p50_ms),
      p99Ms: Number(long.fields.p99_ms),
      lost: warm.lost + short.lost + long.lost,
    }
  } finally {
    await Promise.all(servers.map(stopChild))
    await redis.stop()
  }
}

/** A target stated as a ratio between two subjects' server CPU per delivery, in one run. */
export interface ClusterTarget {
  text: string
  subject: string
  baseline: string
  /** `ratio <= max` (or `ratio < max` when `strict`). */
  max: number
  strict: boolean
  ratio: number
  perRun: number[]
  met: boolean | null
}

/** The cross-process section of the report: medians per subject, the targets, the raw runs. */
export interface ClusterReport {
  workload: ClusterWorkload
  loadgen: string
  subjects: string[]
  labels: Record<string, string>
  medians: Record<string, Omit<ClusterFigures, 'lost'> & { lost: number }>
  targets: ClusterTarget[]
  /** Messages lost per subject, summed over every run. */
  lostTotal: Record<string, number>
  raw: Record<string, ClusterFigures[]>
}

const TARGETS = [
  {
    text: 'pub/sub layer ≤ 2× raw uWS + Redis',
    subject: `${SUBJECT}-pubsub`,
    baseline: 'uws-redis',
    max: 2,
    strict: false,
  },
  {
    text: 'core layer < Socket.IO + redis-adapter',
    subject: `${SUBJECT}-core`,
    baseline: 'socketio-redis',
    max: 1,
    strict: true,
  },
]

/** Medians, ratios and target verdicts from the runs of each subject. */
export function summarise(
  raw: Record<string, ClusterFigures[]>,
  specs: Record<string, ClusterSpec>,
  workload: ClusterWorkload,
  loadgen: string,
): ClusterReport {
  const subjects = Object.keys(raw)
  const medians: ClusterReport['medians'] = {}
  const lostTotal: Record<string, number> = {}
  for (const s of subjects) {
    const runs = raw[s]!
    const med = (key: keyof ClusterFigures) => median(runs.map((f) => f[key]))
    medians[s] = {
      serverUsPerDelivery: med('serverUsPerDelivery'),
      redisUsPerDelivery: med('redisUsPerDelivery'),
      serverUsPerDeliveryWhole: med('serverUsPerDeliveryWhole'),
      redisUsPerDeliveryWhole: med('redisUsPerDeliveryWhole'),
      firstProcessShare: med('firstProcessShare'),
      p50Ms: med('p50Ms'),
      p99Ms: med('p99Ms'),
      lost: med('lost'),
    }
    lostTotal[s] = runs.reduce((n, f) => n + f.lost, 0)
  }
  const targets: ClusterTarget[] = TARGETS.filter((t) => raw[t.subject] && raw[t.baseline]).map(
    (t) => {
      const ratio =
        medians[t.subject]!.serverUsPerDelivery / medians[t.baseline]!.serverUsPerDelivery
      const perRun = perRunRatios(
        raw[t.subject]!.map((f) => f.serverUsPerDelivery),
        raw[t.baseline]!.map((f) => f.serverUsPerDelivery),
      )
      // A ratio of marginal figures is meaningless when one is not positive (a smoke run's noise).
      const valid = Number.isFinite(ratio) && ratio > 0
      const met = valid ? (t.strict ? ratio < t.max : ratio <= t.max) : null
      return { ...t, ratio, perRun, met }
    },
  )
  const labels = Object.fromEntries(subjects.map((s) => [s, specs[s]?.label ?? s]))
  return { workload, loadgen, subjects, labels, medians, targets, lostTotal, raw }
}

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '—')

/** The section's two Markdown tables: the figures per subject, then the targets. */
export function renderClusterTable(report: ClusterReport): string {
  const { subjects, medians, workload } = report
  const head = ['figure', ...subjects.map((s) => report.labels[s]!)]
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`]
  const row = (label: string, pick: (s: string) => string) =>
    lines.push(`| ${label} | ${subjects.map(pick).join(' | ')} |`)
  const extra = workload.messages - workload.baseMessages
  row(`server CPU per delivery, both processes (µs; marginal, ${extra} msgs)`, (s) =>
    fmt(medians[s]!.serverUsPerDelivery),
  )
  row('Redis CPU per delivery (µs; marginal)', (s) => fmt(medians[s]!.redisUsPerDelivery))
  // The Go wsbench prints no markers, so its whole window includes the members' connects.
  const whole = `whole fan-out of ${workload.messages}${report.loadgen.startsWith('wsbench') ? ', joins included' : ''}`
  row(`server CPU per delivery, ${whole} (µs)`, (s) => fmt(medians[s]!.serverUsPerDeliveryWhole))
  row(`Redis CPU per delivery, ${whole} (µs)`, (s) => fmt(medians[s]!.redisUsPerDeliveryWhole))
  row('first process share of server CPU (--workers: the supervisor)', (s) =>
    fmt(medians[s]!.firstProcessShare),
  )
  row(`p50 / p99 latency, ${workload.messages} msgs at ${workload.everyMs} ms (ms)`, (s) => {
    const m = medians[s]!
    return `${fmt(m.p50Ms, 0)} / ${fmt(m.p99Ms, 0)}`
  })
  row('messages lost (all runs)', (s) => String(report.lostTotal[s]))

  const targetHead = '| target (server CPU per delivery, same run) | ratio | per run | met |'
  const targetLines = [targetHead, '|---|---|---|---|']
  for (const t of report.targets) {
    const range = ratioRange(t.perRun)
    const verdict = t.met === null ? 'n/a' : t.met ? 'yes' : 'NO'
    targetLines.push(`| ${t.text} | ${fmt(t.ratio)}× | ${range ? `${range}×` : '—'} | ${verdict} |`)
  }
  const ours = subjects.filter((s) => s.startsWith(`${SUBJECT}-`))
  if (ours.length > 0) {
    const lost = ours.reduce((n, s) => n + report.lostTotal[s]!, 0)
    targetLines.push(`| ${SUBJECT}: none lost | ${lost} lost | — | ${lost === 0 ? 'yes' : 'NO'} |`)
  }
  if (targetLines.length === 2) return lines.join('\n')
  return `${lines.join('\n')}\n\n${targetLines.join('\n')}`
}
