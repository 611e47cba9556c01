/**
 * The process-wide budget for bytes queued to WebSocket clients that read slower than they are
 * sent to (`websocketBufferBudget`). A connection reports what its reactor holds for it whenever
 * a send had to be queued, and again as the queue drains; the total is the sum of the last
 * reports. When a report takes it over the budget, every report is refreshed (queues shrink
 * between reports as clients read) and, while it is still over, the connection holding the most
 * is shed: closed with 1008, so nothing more is queued for it.
 *
 * A shed connection leaves the budget at once: the bytes already queued for it stay with the
 * reactor until its client reads them or the reactor's close timeout cuts it off. Counting them
 * on would make the budget close the clients that do read, one after another, until then.
 *
 * Performance notes: a send the reactor writes at once, or holds for the end of the event-loop
 * turn, never gets here; only connections with bytes queued are in the set, and only going over
 * the budget walks it.
 * @module
 */

/** A connection as the budget sees it. */
export interface BufferHolder {
  /** Bytes last reported: the budget's bookkeeping, 0 outside it. */
  queued: number
  /** Bytes its reactor holds for it now. */
  readQueued(): number
  /** Close it (with 1008): the budget is spent and it holds the most. */
  shed(): void
}

export class SendBudget {
  #total = 0
  #shedding = false
  readonly #holders = new Set<BufferHolder>()

  /** `limit` in bytes; 0 = unlimited (the total is still kept). */
  constructor(readonly limit: number) {}

  /** Bytes queued for all holders, as last reported. */
  get total(): number {
    return this.#total
  }

  /** `holder` has `queued` bytes waiting after a send; over the budget, holders are shed. */
  report(holder: BufferHolder, queued: number): void {
    this.#set(holder, queued)
    if (this.limit !== 0 && this.#total > this.limit && !this.#shedding) this.#shed()
  }

  /** `holder`'s queue shrank to `queued` (0 when drained, or when it closed). */
  update(holder: BufferHolder, queued: number): void {
    this.#set(holder, queued)
  }

  #set(holder: BufferHolder, queued: number): void {
    this.#total += queued - holder.queued
    holder.queued = queued
    if (queued === 0) this.#holders.delete(holder)
    else this.#holders.add(holder)
  }

  #shed(): void {
    this.#shedding = true
    try {
      for (const holder of this.#holders) this.#set(holder, holder.readQueued())
      while (this.#total > this.limit) {
        let biggest: BufferHolder | null = null
        for (const holder of this.#holders) {
          if (biggest === null || holder.queued > biggest.queued) biggest = holder
        }
        if (biggest === null) return
        biggest.shed()
        this.#set(biggest, 0)
      }
    } finally {
      this.#shedding = false
    }
  }
}
