/**
 * The process's figures for the dashboard: event-loop delay (Node's histogram, sampled by a
 * native timer, so it costs no JavaScript turn), CPU over an interval, memory and uptime.
 * @module
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

/** The histogram's timer period (ms): fine enough to catch a stall of a few tens of ms. */
const LOOP_RESOLUTION_MS = 20
const NS_PER_MS = 1e6

/** One interval's event-loop delay and CPU. */
export interface IntervalStats {
  loopDelay: { meanMs: number; p99Ms: number; maxMs: number }
  cpuPercent: number
}

/** Measures the process between two `take()` calls. */
export class ProcessStats {
  private readonly histogram: IntervalHistogram
  private lastCpu = process.cpuUsage()
  private lastAt = performance.now()
  private last: IntervalStats = { loopDelay: { meanMs: 0, p99Ms: 0, maxMs: 0 }, cpuPercent: 0 }

  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
    this.histogram.enable()
  }

  /** The figures since the previous call; the next interval starts now. */
  take(): IntervalStats {
    const h = this.histogram
    const now = performance.now()
    const cpu = process.cpuUsage(this.lastCpu)
    const elapsedMs = now - this.lastAt
    // The histogram counts the timer's own period in: what is beyond it is the delay.
    const delay = (ns: number) => Math.max(0, ns / NS_PER_MS - LOOP_RESOLUTION_MS)
    this.last = {
      loopDelay:
        h.count === 0
          ? { meanMs: 0, p99Ms: 0, maxMs: 0 }
          : {
              meanMs: round(delay(h.mean)),
              p99Ms: round(delay(h.percentile(99))),
              maxMs: round(delay(h.max)),
            },
      cpuPercent: elapsedMs > 0 ? round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100) : 0,
    }
    h.reset()
    this.lastCpu = process.cpuUsage()
    this.lastAt = now
    return this.last
  }

  /** What the last `take()` measured. */
  get latest(): IntervalStats {
    return this.last
  }

  stop(): void {
    this.histogram.disable()
  }
}

/** Two decimals: enough for a chart, short in JSON. */
export function round(value: number): number {
  return Math.round(value * 100) / 100
}
