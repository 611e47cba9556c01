/**
 * `npm run bench -- --quick` as a smoke test: every server starts, every phase runs, and the
 * report comes out in its three forms. Nothing here looks at a timing: the figures are only
 * checked to be present and finite, and the group fan-outs (in one process, and across two on
 * one Redis, and across `serve --workers 2`) to have lost nothing, and the `--workers` echoes to
 * have had no error.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../e2e/helpers.js'

const ROOT = join(import.meta.dirname, '../..')
const out = mkdtempSync(join(tmpdir(), 'channels-bench-quick-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

interface ClusterSection {
  subjects: string[]
  medians: Record<string, Record<string, number>>
  lostTotal: Record<string, number>
  targets: { text: string; ratio: number }[]
}

interface WorkersSection {
  setups: { key: string; label: string }[]
  medians: Record<string, Record<string, number>>
}

interface Row {
  key: string
  values: Record<string, number>
  met: boolean | null
  extra?: { ok: boolean; text: string }
}

describe('npm run bench -- --quick', () => {
  it('runs every server and phase and writes the table, JSON and SVG', { timeout: 180_000 }, () => {
    ensureBuilt()
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'dist/bench/run.js'), '--quick', '--out', out],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 170_000,
      },
    )
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain('| figure | channels-ts | uws | ws |')
    expect(run.stderr).toContain('run 1/1: channels-ts')

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      quick: boolean
      rows: Row[]
      cluster: ClusterSection | null
      workers: WorkersSection | null
    }
    expect(results.quick).toBe(true)
    expect(results.rows.map((r) => r.key)).toEqual([
      'echo',
      'fanout',
      'fanoutWithJoins',
      'handshake',
      'handshakeWave',
      'memory',
      'reload',
      'coldStart',
    ])
    for (const row of results.rows.slice(0, 5)) {
      for (const server of ['channels-ts', 'uws', 'ws']) {
        expect(Number.isFinite(row.values[server]), `${row.key} ${server}`).toBe(true)
      }
    }
    const fanout = results.rows.find((r) => r.key === 'fanout')!
    expect(fanout.extra).toEqual({ ok: true, text: '0 lost' })
    const reload = results.rows.find((r) => r.key === 'reload')!
    expect(reload.extra).toEqual({ ok: true, text: '0 dropped' })

    // Across processes: every subject ran on a real redis-server, and every member got every message.
    expect(run.stdout).toContain('| figure | raw uWS + Redis pub/sub | Socket.IO + redis-adapter |')
    const cluster = results.cluster!
    expect(cluster.subjects).toEqual([
      'uws-redis',
      'socketio-redis',
      'channels-ts-core',
      'channels-ts-pubsub',
      'channels-ts-workers',
    ])
    for (const subject of cluster.subjects) {
      const figures = cluster.medians[subject]!
      for (const key of ['serverUsPerDeliveryWhole', 'redisUsPerDeliveryWhole', 'p50Ms']) {
        expect(Number.isFinite(figures[key]), `${subject} ${key}`).toBe(true)
      }
      expect(cluster.lostTotal[subject], `${subject} lost`).toBe(0)
    }
    expect(cluster.targets.map((t) => t.text)).toEqual([
      'pub/sub layer ≤ 2× raw uWS + Redis',
      'core layer < Socket.IO + redis-adapter',
    ])

    // serve --workers 2 against --workers 1: every placement echoed without an error.
    expect(run.stdout).toContain('| figure | --workers 1, server core 0, load core 1 |')
    const workers = results.workers!
    expect(workers.setups.map((s) => s.key)).toEqual(['one-pinned', 'one', 'two'])
    for (const { key } of workers.setups) {
      const figures = workers.medians[key]!
      for (const field of ['rate', 'serverUsPerEcho', 'serverCores', 'loadgenCores']) {
        expect(Number.isFinite(figures[field]), `${key} ${field}`).toBe(true)
      }
      expect(figures.errors, `${key} errors`).toBe(0)
    }

    const svg = readFileSync(join(out, 'benchmark.svg'), 'utf8')
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('channels-ts')
  })
})
