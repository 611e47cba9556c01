/**
 * `npm run bench`: channels-ts (the shipped example project under `channels serve`) side by side
 * with raw uWebSockets.js and ws, one server at a time, server pinned to core 0 and the load
 * generator to core 1. Prints a table, writes JSON and an SVG chart.
 *
 *   npm run bench                      full run (7 runs, medians)
 *   npm run bench -- --quick           smoke run: tiny workload, one run (used by `npm test`)
 *   npm run bench -- --runs 5 --out .bench --servers channels-ts,uws
 *   npm run bench -- --node-options ''  every server on Node's default flags
 *   npm run bench -- --no-cluster      without the cross-process section (bench/cluster.ts)
 *   npm run bench -- --cluster-servers uws-redis,channels-ts-pubsub --wsbench /path/to/wsbench
 *   npm run bench -- --no-workers      without the `serve --workers` echo section (bench/workers.ts)
 *
 * The cross-process section runs two processes of each subject on one fresh redis-server (Debian's
 * `redis-server`, or `$REDIS_SERVER`); it is skipped, with a note, when there is none, and so is
 * the `--workers` section, whose example project needs a Redis layer. `--wsbench` drives both.
 *
 * Every server runs under the same Node flags, `--node-options` (default: what the README
 * recommends for production, `--max-semi-space-size=2`: V8's young generation otherwise grows to
 * 2 × 16 MB under load, which is memory no connection needs and, on this workload, slower).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { measureRunserver, type RunserverFigures } from './runserver.js'
import { canPin, median } from './proc.js'
import {
  CLUSTER_SUBJECTS,
  clusterSpecs,
  FULL_CLUSTER,
  QUICK_CLUSTER,
  renderClusterTable,
  runCluster,
  summarise,
  type ClusterFigures,
  type ClusterLoadgen,
  type ClusterReport,
} from './cluster.js'
import { haveRedisServer, startRedis } from './redis.js'
import {
  perRunRatios,
  renderSvg,
  renderTable,
  SUBJECT,
  targetMet,
  type ReportRow,
} from './report.js'
import { parseNodeFlags, serverSpecs } from './server-specs.js'
import { FULL_WORKLOAD, QUICK_WORKLOAD, runServer, type RunFigures } from './ws-phases.js'
import {
  FULL_WORKERS,
  QUICK_WORKERS,
  renderWorkersTable,
  runWorkersEcho,
  summariseWorkers,
  WORKERS_SETUPS,
  type WorkersFigures,
  type WorkersLoadgen,
  type WorkersReport,
} from './workers.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    out: { type: 'string', default: '.bench' },
    servers: { type: 'string', default: `${SUBJECT},uws,ws` },
    'no-runserver': { type: 'boolean', default: false },
    'no-cluster': { type: 'boolean', default: false },
    'no-workers': { type: 'boolean', default: false },
    'cluster-servers': { type: 'string', default: CLUSTER_SUBJECTS.join(',') },
    /** The Go wsbench binary to drive the cross-process fan-outs instead of bench/loadgen.ts. */
    wsbench: { type: 'string' },
    port: { type: 'string', default: '18700' },
    'node-options': { type: 'string', default: '--max-semi-space-size=2' },
  },
})

/** Node flags every server runs with. */
const NODE_FLAGS = parseNodeFlags(values['node-options'])
const SERVERS = serverSpecs(NODE_FLAGS)

function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

async function main(): Promise<void> {
  const quick = values.quick
  // Seven by default: on a shared machine one run's handshake ratio is noisy, and a median of
  // three still differs between full runs of the same code.
  const runs = Number(values.runs ?? (quick ? 1 : 7))
  const workload = quick ? QUICK_WORKLOAD : FULL_WORKLOAD
  const servers = values.servers.split(',').filter((s) => SERVERS[s])
  const pinned = canPin()
  let port = Number(values.port)
  progress(
    `${quick ? 'quick' : 'full'} run: ${runs} run(s) × ${servers.join(', ')}; ${pinned ? 'server on core 0, load on core 1' : 'NOT pinned (taskset or a second core missing)'}; node flags: ${NODE_FLAGS.join(' ') || '(defaults)'}`,
  )

  const figures: Record<string, RunFigures[]> = Object.fromEntries(servers.map((s) => [s, []]))
  for (let run = 1; run <= runs; run++) {
    // Servers interleave within a run, so machine drift hits every server alike.
    for (const name of servers) {
      progress(`run ${run}/${runs}: ${name} …`)
      const result = await runServer(SERVERS[name]!, port++, workload, pinned)
      figures[name]!.push(result)
      progress(
        `run ${run}/${runs}: ${name}: ${result.cpuUsPerEcho.toFixed(2)} µs/echo, ${result.cpuUsPerDelivery.toFixed(2)} µs/delivery (${result.deliveriesLost} lost), ${result.cpuUsPerHandshakeSteady.toFixed(1)} µs/handshake steady (${result.cpuUsPerHandshake.toFixed(1)} whole wave), ${result.kbPerIdleConnection.toFixed(2)} KiB/conn`,
      )
    }
  }

  let runserver: RunserverFigures | null = null
  if (!values['no-runserver'] && servers.includes(SUBJECT)) {
    progress('runserver: cold start and hot reload …')
    runserver = await measureRunserver({ root: ROOT, runs: quick ? 1 : 5, port: port++ })
  }

  const cluster = values['no-cluster'] ? null : await runClusterSection(quick, runs, port)
  port += 2 * runs * CLUSTER_SUBJECTS.length
  const workers = values['no-workers'] ? null : await runWorkersSection(quick, runs, port)

  const med = (name: string, key: keyof RunFigures) => median(figures[name]!.map((f) => f[key]))
  const pick = (key: keyof RunFigures) =>
    Object.fromEntries(servers.map((s) => [s, med(s, key)])) as Record<string, number>
  const perRun = (key: keyof RunFigures): number[] | undefined =>
    servers.includes(SUBJECT) && servers.includes('uws')
      ? perRunRatios(
          figures[SUBJECT]!.map((f) => f[key]),
          figures.uws!.map((f) => f[key]),
        )
      : undefined
  const lost = servers.includes(SUBJECT)
    ? Math.max(...figures[SUBJECT]!.map((f) => f.deliveriesLost))
    : 0
  const rows: ReportRow[] = [
    {
      key: 'echo',
      label: 'echo round trip',
      unit: 'µs server CPU',
      values: pick('cpuUsPerEcho'),
      perRunRatios: perRun('cpuUsPerEcho'),
      target: { maxRatio: 1.3, text: '≤ 1.3× uws' },
    },
    {
      key: 'fanout',
      label: `group delivery, ${workload.fanoutMembers} members`,
      unit: 'µs server CPU',
      values: pick('cpuUsPerDelivery'),
      perRunRatios: perRun('cpuUsPerDelivery'),
      target: { maxRatio: 1.6, text: '≤ 1.6× uws' },
      extra: { ok: lost === 0, text: `${lost} lost` },
    },
    {
      key: 'fanoutWithJoins',
      label: `group delivery incl. the ${workload.fanoutMembers} members' connects and joins`,
      unit: 'µs server CPU',
      values: pick('cpuUsPerDeliveryWithJoins'),
      perRunRatios: perRun('cpuUsPerDeliveryWithJoins'),
      target: { text: 'for information' },
    },
    {
      key: 'handshake',
      label: `handshake, steady (connections ${workload.idleConns / 2}–${workload.idleConns})`,
      unit: 'µs server CPU',
      values: pick('cpuUsPerHandshakeSteady'),
      perRunRatios: perRun('cpuUsPerHandshakeSteady'),
      target: { maxRatio: 1.5, text: '≤ 1.5× uws' },
    },
    {
      key: 'handshakeWave',
      label: `handshake, whole wave of ${workload.idleConns} (JIT warm-up included)`,
      unit: 'µs server CPU',
      values: pick('cpuUsPerHandshake'),
      perRunRatios: perRun('cpuUsPerHandshake'),
      target: { text: 'for information' },
    },
    {
      key: 'memory',
      label: `idle connection (${workload.idleConns})`,
      unit: 'KiB RSS',
      values: pick('kbPerIdleConnection'),
      target: { maxValue: 3, text: '≤ 3 KiB' },
    },
  ]
  if (runserver) {
    rows.push(
      {
        key: 'reload',
        label: 'hot reload, saved → serving',
        unit: 'ms',
        values: { [SUBJECT]: runserver.reloadMs },
        target: { maxValue: 100, text: '≤ 100 ms' },
        extra: { ok: runserver.dropped === 0, text: `${runserver.dropped} dropped` },
      },
      {
        key: 'coldStart',
        label: 'runserver cold start',
        unit: 'ms',
        values: { [SUBJECT]: runserver.coldStartMs },
        target: { maxValue: 500, text: '≤ 500 ms' },
      },
    )
  }

  const table = renderTable(rows, servers)
  console.log(
    `\n${table}\n\nEvery server ran with node flags: ${NODE_FLAGS.join(' ') || '(Node defaults)'}\n`,
  )
  if (cluster) {
    const w = cluster.workload
    console.log(
      `Across processes: 2 processes per subject on one Redis, ${w.members} members split over them, median of ${runs}; load generator: ${cluster.loadgen}\n\n${renderClusterTable(cluster)}\n`,
    )
  }
  if (workers) {
    const w = workers.workload
    console.log(
      `serve --workers: the example's echo, ${w.conns} connections${workers.loadgen.startsWith('wsbench') ? ` × ${w.pipeline} in flight` : ''} for ${w.ms} ms, median of ${runs}; load generator: ${workers.loadgen} (on this ${availableParallelism()}-core machine, unpinned, it shares the cores with the workers)\n\n${renderWorkersTable(workers)}\n`,
    )
  }
  const out = resolve(values.out)
  mkdirSync(out, { recursive: true })
  const json = {
    date: new Date().toISOString(),
    quick,
    runs,
    pinned,
    nodeFlags: NODE_FLAGS,
    workload,
    rows: rows.map((r) => ({ ...r, met: targetMet(r) })),
    raw: figures,
    runserver,
    cluster,
    workers,
  }
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(json, null, 2)}\n`)
  writeFileSync(
    join(out, 'benchmark.svg'),
    renderSvg(
      rows,
      servers,
      `channels-ts benchmark, ${new Date().toISOString().slice(0, 10)} (median of ${runs}; node ${NODE_FLAGS.join(' ') || 'defaults'})`,
    ),
  )
  progress(`wrote ${join(out, 'results.json')} and ${join(out, 'benchmark.svg')}`)
}

/** The cross-process section: every subject once per run, interleaved like the servers above. */
async function runClusterSection(
  quick: boolean,
  runs: number,
  firstPort: number,
): Promise<ClusterReport | null> {
  if (!haveRedisServer()) {
    progress('cross-process: skipped (no redis-server on PATH; apt-get install redis-server)')
    return null
  }
  const specs = clusterSpecs(NODE_FLAGS)
  const subjects = values['cluster-servers'].split(',').filter((s) => specs[s])
  const workload = quick ? QUICK_CLUSTER : FULL_CLUSTER
  const loadgen: ClusterLoadgen = values.wsbench
    ? { kind: 'wsbench', path: resolve(values.wsbench) }
    : { kind: 'node' }
  const pinned = canPin()
  const raw: Record<string, ClusterFigures[]> = Object.fromEntries(subjects.map((s) => [s, []]))
  let port = firstPort
  for (let run = 1; run <= runs; run++) {
    for (const name of subjects) {
      progress(`cross-process run ${run}/${runs}: ${name} …`)
      const f = await runCluster(specs[name]!, [port, port + 1], workload, pinned, loadgen)
      port += 2
      raw[name]!.push(f)
      progress(
        `cross-process run ${run}/${runs}: ${name}: ${f.serverUsPerDelivery.toFixed(2)} µs server + ${f.redisUsPerDelivery.toFixed(2)} µs Redis per delivery, p50 ${f.p50Ms} ms, ${f.lost} lost`,
      )
    }
  }
  const generator = loadgen.kind === 'node' ? 'bench/loadgen.ts' : `wsbench (${loadgen.path})`
  return summarise(raw, specs, workload, generator)
}

/** `serve --workers 2` against `--workers 1`: each placement once per run, interleaved. */
async function runWorkersSection(
  quick: boolean,
  runs: number,
  firstPort: number,
): Promise<WorkersReport | null> {
  if (!haveRedisServer()) {
    progress('serve --workers: skipped (no redis-server on PATH; apt-get install redis-server)')
    return null
  }
  const workload = quick ? QUICK_WORKERS : FULL_WORKERS
  const loadgen: WorkersLoadgen = values.wsbench
    ? { kind: 'wsbench', path: resolve(values.wsbench) }
    : { kind: 'node' }
  // Idle during the echo (its consumer never uses the layer): left unpinned.
  const redis = await startRedis(null)
  const raw: Record<string, WorkersFigures[]> = Object.fromEntries(
    WORKERS_SETUPS.map((s) => [s.key, []]),
  )
  let port = firstPort
  try {
    for (let run = 1; run <= runs; run++) {
      for (const setup of WORKERS_SETUPS) {
        progress(`serve --workers run ${run}/${runs}: ${setup.label} …`)
        const f = await runWorkersEcho(setup, port++, workload, loadgen, NODE_FLAGS, redis.url)
        raw[setup.key]!.push(f)
        progress(
          `serve --workers run ${run}/${runs}: ${setup.label}: ${f.rate.toFixed(0)} round trips/s, ${f.serverUsPerEcho.toFixed(2)} µs server CPU each, cores busy: server ${f.serverCores.toFixed(2)}, load ${f.loadgenCores.toFixed(2)}`,
        )
      }
    }
  } finally {
    await redis.stop()
  }
  const generator = loadgen.kind === 'node' ? 'bench/loadgen.ts' : `wsbench (${loadgen.path})`
  return summariseWorkers(raw, workload, generator)
}

await main()
