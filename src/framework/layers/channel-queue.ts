/**
 * One in-memory channel: a bounded FIFO of (message, expiry) with a head index (O(1) shift, no
 * Array.shift on long queues) and the receivers waiting on it. Allocation-light on purpose: a
 * channel entry is created and dropped around every delivery to an idle consumer.
 * @module
 */
import type { ChannelMessage } from '../asgi/types.js'
import type { LayerReceiver } from './types.js'

// Compact the backing arrays once this many slots before `head` are dead (and they are at least
// half of the array), so a long-lived busy channel does not grow without bound.
const COMPACT_AT = 1024

/**
 * A `receive()` waiting for a message: settles its promise. Callback receivers
 * (`receiveInto`) wait in the same queue as themselves, with no wrapper.
 */
export class PromiseWaiter implements LayerReceiver {
  constructor(
    readonly resolve: (message: ChannelMessage) => void,
    readonly reject: (reason: unknown) => void,
    readonly channel: string,
    readonly queue: ChannelQueue,
    /** The waiters sharing this receive's AbortSignal (see InMemoryChannelLayer.watch). */
    readonly group: WaiterSet | undefined,
  ) {}

  layerMessage(message: ChannelMessage): void {
    this.resolve(message)
  }

  layerError(error: unknown): void {
    this.reject(error)
  }
}

/**
 * A tiny set of waiters tuned for its usual size of one (a consumer has one pending receive per
 * signal): no Set to allocate and update on every delivery for that case.
 */
export class WaiterSet {
  private one: PromiseWaiter | undefined
  private many: Set<PromiseWaiter> | undefined

  add(waiter: PromiseWaiter): void {
    if (this.one === undefined && this.many === undefined) this.one = waiter
    else {
      this.many ??= new Set(this.one === undefined ? [] : [this.one])
      this.one = undefined
      this.many.add(waiter)
    }
  }

  delete(waiter: PromiseWaiter): void {
    if (this.one === waiter) this.one = undefined
    else this.many?.delete(waiter)
  }

  /** Remove and return every member. */
  drain(): PromiseWaiter[] {
    const all =
      this.many === undefined ? (this.one === undefined ? [] : [this.one]) : [...this.many]
    this.one = this.many = undefined
    return all
  }
}

/** The read-only view of a channel that `InMemoryChannelLayer.channels` exposes. */
export interface ChannelQueueView {
  /** Messages queued (not yet received). */
  readonly size: number
  /** The most messages this channel holds before `send` rejects with ChannelFull. */
  readonly capacity: number
  /** Receivers currently waiting. */
  readonly waiting: number
}

/** A channel's queue and waiters. Invariant: waiters exist only while the queue is empty. */
export class ChannelQueue implements ChannelQueueView {
  // Allocated on first push: most channels only ever hand messages straight to a waiter.
  private messages: ChannelMessage[] | undefined
  private expires: number[] | undefined
  private head = 0
  // The common case is exactly one waiter; more go to `moreWaiters` (FIFO after `waiter`).
  private waiter: LayerReceiver | undefined
  private moreWaiters: LayerReceiver[] | undefined

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.messages === undefined ? 0 : this.messages.length - this.head
  }

  get waiting(): number {
    if (this.waiter === undefined) return 0
    return this.moreWaiters === undefined ? 1 : 1 + this.moreWaiters.length
  }

  /** True when nothing is queued and nobody waits: the entry can be dropped. */
  get idle(): boolean {
    return this.waiter === undefined && this.size === 0
  }

  /** Expiry time (ms) of the oldest message, or Infinity when empty. */
  get headExpiry(): number {
    return this.size > 0 ? ((this.expires as number[])[this.head] as number) : Infinity
  }

  /** Put a message back at the head (a receiver was cancelled before it got it). */
  unshift(message: ChannelMessage, expiresAt: number): void {
    if (this.messages === undefined) {
      this.push(message, expiresAt)
    } else if (this.head > 0) {
      this.head--
      this.messages[this.head] = message
      ;(this.expires as number[])[this.head] = expiresAt
    } else {
      this.messages.unshift(message)
      ;(this.expires as number[]).unshift(expiresAt)
    }
  }

  push(message: ChannelMessage, expiresAt: number): void {
    if (this.messages === undefined) {
      this.messages = [message]
      this.expires = [expiresAt]
    } else {
      this.messages.push(message)
      ;(this.expires as number[]).push(expiresAt)
    }
  }

  /** Remove and return the oldest message. Call only when `size > 0`. */
  shift(): ChannelMessage {
    const messages = this.messages as ChannelMessage[]
    const message = messages[this.head] as ChannelMessage
    // Release the reference now; the slot itself is reclaimed by compaction or reset.
    ;(messages as unknown[])[this.head] = undefined
    this.head++
    if (this.head === messages.length) {
      this.messages = this.expires = undefined
      this.head = 0
    } else if (this.head >= COMPACT_AT && this.head * 2 >= messages.length) {
      this.messages = messages.slice(this.head)
      this.expires = (this.expires as number[]).slice(this.head)
      this.head = 0
    }
    return message
  }

  /** Drop messages whose expiry is before `now`; returns how many were dropped. */
  dropExpired(now: number): number {
    let dropped = 0
    while (this.size > 0 && ((this.expires as number[])[this.head] as number) < now) {
      this.shift()
      dropped++
    }
    return dropped
  }

  /** Drop every queued message (waiters stay). */
  clear(): void {
    this.messages = this.expires = undefined
    this.head = 0
  }

  addWaiter(waiter: LayerReceiver): void {
    if (this.waiter === undefined) this.waiter = waiter
    else if (this.moreWaiters === undefined) this.moreWaiters = [waiter]
    else this.moreWaiters.push(waiter)
  }

  /** Take the longest-waiting receiver. */
  takeWaiter(): LayerReceiver | undefined {
    const waiter = this.waiter
    if (waiter === undefined) return undefined
    this.promoteNext()
    return waiter
  }

  /** Forget a waiter (its receive was aborted). Returns whether it was waiting. */
  removeWaiter(waiter: LayerReceiver): boolean {
    if (this.waiter === waiter) {
      this.promoteNext()
      return true
    }
    const index = this.moreWaiters === undefined ? -1 : this.moreWaiters.indexOf(waiter)
    if (index === -1) return false
    ;(this.moreWaiters as LayerReceiver[]).splice(index, 1)
    if (this.moreWaiters?.length === 0) this.moreWaiters = undefined
    return true
  }

  /** Take every waiter (used by close()). */
  takeAllWaiters(): LayerReceiver[] {
    const waiters: LayerReceiver[] = []
    for (let w = this.takeWaiter(); w !== undefined; w = this.takeWaiter()) waiters.push(w)
    return waiters
  }

  private promoteNext(): void {
    const more = this.moreWaiters
    if (more === undefined) {
      this.waiter = undefined
      return
    }
    // Waiter lists beyond the first are short and rare, so shift() is fine here.
    this.waiter = more.shift()
    if (more.length === 0) this.moreWaiters = undefined
  }
}
