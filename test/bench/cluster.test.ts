/**
 * The cross-process section's arithmetic and table: medians per subject, the two ratio targets
 * (one inclusive, one strict), verdicts that refuse a ratio of non-positive figures, and the
 * lost count held against channels-ts only. The runs themselves are exercised by quick.test.ts.
 */
import { describe, expect, it } from 'vitest'
import {
  clusterSpecs,
  QUICK_CLUSTER,
  renderClusterTable,
  summarise,
  type ClusterFigures,
} from '../../bench/cluster.js'

function figures(serverUs: number, lost = 0): ClusterFigures {
  return {
    serverUsPerDelivery: serverUs,
    redisUsPerDelivery: 0.1,
    serverUsPerDeliveryWhole: serverUs + 1,
    redisUsPerDeliveryWhole: 0.2,
    firstProcessShare: 0.5,
    p50Ms: 20,
    p99Ms: 90,
    lost,
  }
}

const specs = clusterSpecs([])

describe('cross-process summary', () => {
  it('takes medians, ratios within runs and verdicts against each target', () => {
    const report = summarise(
      {
        'uws-redis': [figures(5), figures(6), figures(7)],
        'socketio-redis': [figures(20), figures(22), figures(30)],
        'channels-ts-core': [figures(19), figures(25), figures(21)],
        'channels-ts-pubsub': [figures(9), figures(10), figures(20)],
      },
      specs,
      QUICK_CLUSTER,
      'bench/loadgen.ts',
    )
    expect(report.medians['uws-redis']!.serverUsPerDelivery).toBe(6)
    const [pubsub, core] = report.targets
    expect(pubsub!.ratio).toBeCloseTo(10 / 6)
    expect(pubsub!.perRun).toEqual([9 / 5, 10 / 6, 20 / 7])
    expect(pubsub!.met).toBe(true)
    expect(core!.ratio).toBeCloseTo(21 / 22)
    expect(core!.met).toBe(true)

    const table = renderClusterTable(report)
    expect(table).toContain('| pub/sub layer ≤ 2× raw uWS + Redis | 1.67× | 1.67–2.86× | yes |')
    expect(table).toContain('| channels-ts: none lost | 0 lost | — | yes |')
  })

  it('holds the strict target strictly and counts channels-ts losses over every run', () => {
    const report = summarise(
      {
        'socketio-redis': [figures(20)],
        'channels-ts-core': [figures(20, 3)],
      },
      specs,
      QUICK_CLUSTER,
      'bench/loadgen.ts',
    )
    expect(report.targets.map((t) => t.text)).toEqual(['core layer < Socket.IO + redis-adapter'])
    expect(report.targets[0]!.met).toBe(false)
    expect(report.lostTotal['channels-ts-core']).toBe(3)
    expect(renderClusterTable(report)).toContain('| channels-ts: none lost | 3 lost | — | NO |')
  })

  it('gives no verdict on a ratio of non-positive or missing figures', () => {
    const report = summarise(
      {
        'uws-redis': [figures(-2)],
        'channels-ts-pubsub': [figures(3)],
      },
      specs,
      QUICK_CLUSTER,
      'bench/loadgen.ts',
    )
    expect(report.targets[0]!.met).toBeNull()
    expect(renderClusterTable(report)).toContain('| -1.50× | — | n/a |')
  })

  it('leaves out a target whose subjects did not run, and the lost line without channels-ts', () => {
    const report = summarise({ 'uws-redis': [figures(5, 2)] }, specs, QUICK_CLUSTER, 'x')
    expect(report.targets).toEqual([])
    const table = renderClusterTable(report)
    expect(table).toContain('| messages lost (all runs) | 2 |')
    expect(table).not.toContain('none lost')
    expect(table).not.toContain('| target')
  })
})
