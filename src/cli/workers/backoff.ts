/**
 * When a dead worker is started again. The first death after a worker stayed up restarts it at
 * once (a crash is worth one immediate retry); each further death of a worker that did not stay
 * up doubles the wait, up to a ceiling, so a worker that cannot start (broken code on disk, a
 * database that is down) costs a start now and then instead of a busy loop.
 * @module
 */

/** A worker that served this long before it died was stable: the next restart is immediate. */
export const STABLE_MS = 10_000
/** The wait after the second quick death in a row; it doubles with each further one. */
export const FIRST_DELAY_MS = 500
/** The longest wait between two starts. */
export const MAX_DELAY_MS = 30_000

/** One worker slot's restart history. */
export class Backoff {
  /** Deaths in a row of a worker that had not stayed up for STABLE_MS. */
  private quickDeaths = 0

  /** Record a death after `uptimeMs` and return how long to wait before the next start. */
  died(uptimeMs: number): number {
    if (uptimeMs >= STABLE_MS) this.quickDeaths = 0
    const delay =
      this.quickDeaths === 0
        ? 0
        : Math.min(FIRST_DELAY_MS * 2 ** (this.quickDeaths - 1), MAX_DELAY_MS)
    this.quickDeaths++
    return delay
  }
}
