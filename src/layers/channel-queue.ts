/**
 * One in-memory channel: a bounded FIFO of (message, expiry) with a head index (O(1) shift, no
 * Array.shift on long queues) and the receivers waiting on it.
 * @module
 */
import type { ChannelMessage } from '../asgi/types.js'

// Compact the backing arrays once this many slots before `head` are dead (and they are at least
// half of the array), so a long-lived busy channel does not grow without bound.
const COMPACT_AT = 1024

/** A receive() waiting for a message. */
export interface Waiter {
  resolve(message: ChannelMessage): void
  reject(reason: unknown): void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
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
  private messages: ChannelMessage[] = []
  private expires: number[] = []
  private head = 0
  private waiters: Waiter[] | undefined

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.messages.length - this.head
  }

  get waiting(): number {
    return this.waiters === undefined ? 0 : this.waiters.length
  }

  /** True when nothing is queued and nobody waits: the entry can be dropped. */
  get idle(): boolean {
    return this.messages.length === this.head && this.waiting === 0
  }

  /** Expiry time (ms) of the oldest message, or Infinity when empty. */
  get headExpiry(): number {
    return this.head < this.expires.length ? (this.expires[this.head] as number) : Infinity
  }

  push(message: ChannelMessage, expiresAt: number): void {
    this.messages.push(message)
    this.expires.push(expiresAt)
  }

  /** Remove and return the oldest message. Call only when `size > 0`. */
  shift(): ChannelMessage {
    const message = this.messages[this.head] as ChannelMessage
    // Release the reference now; the slot itself is reclaimed by compaction or reset.
    ;(this.messages as unknown[])[this.head] = undefined
    this.head++
    if (this.head === this.messages.length) {
      this.messages.length = 0
      this.expires.length = 0
      this.head = 0
    } else if (this.head >= COMPACT_AT && this.head * 2 >= this.messages.length) {
      this.messages = this.messages.slice(this.head)
      this.expires = this.expires.slice(this.head)
      this.head = 0
    }
    return message
  }

  /** Drop messages whose expiry is before `now`; returns how many were dropped. */
  dropExpired(now: number): number {
    let dropped = 0
    while (this.head < this.expires.length && (this.expires[this.head] as number) < now) {
      this.shift()
      dropped++
    }
    return dropped
  }

  /** Drop every queued message (waiters stay). */
  clear(): void {
    this.messages = []
    this.expires = []
    this.head = 0
  }

  addWaiter(waiter: Waiter): void {
    if (this.waiters === undefined) this.waiters = [waiter]
    else this.waiters.push(waiter)
  }

  /** Take the longest-waiting receiver, detaching its abort listener. */
  takeWaiter(): Waiter | undefined {
    const waiters = this.waiters
    if (waiters === undefined || waiters.length === 0) return undefined
    // Waiter lists are short (usually one receiver per channel), so shift() is cheap here.
    const waiter = waiters.shift() as Waiter
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort)
    return waiter
  }

  /** Forget a waiter (its receive was aborted). Returns whether it was waiting. */
  removeWaiter(waiter: Waiter): boolean {
    const waiters = this.waiters
    const index = waiters === undefined ? -1 : waiters.indexOf(waiter)
    if (index === -1) return false
    ;(waiters as Waiter[]).splice(index, 1)
    return true
  }

  /** Take every waiter (used by close()). */
  takeAllWaiters(): Waiter[] {
    const waiters = this.waiters ?? []
    this.waiters = undefined
    for (const w of waiters) {
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort)
    }
    return waiters
  }
}
