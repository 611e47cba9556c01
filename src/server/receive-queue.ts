/**
 * One application instance's receive queue: the hot path of every WebSocket message.
 *
 * When the app is already waiting, an incoming event resolves the pending promise directly;
 * otherwise it is appended to an array. No closure is created per message or per receive (the
 * promise executor is shared by every queue). Cancellation makes the pending and every later
 * `receive()` reject with CancelledError, which is how JavaScript apps are told to stop.
 *
 * Performance notes: an idle connection keeps one of these, so it is kept small. The backlog
 * array is allocated only when an event arrives with no receive waiting, and `receive` is a bound
 * method (a bound function is ~48 B; an arrow function also keeps a context object alive).
 * @module
 */
import { CancelledError } from '../asgi/errors.js'

type Resolve<T> = (value: T) => void
type Reject = (reason: unknown) => void

// The Promise constructor runs its executor synchronously, so one module-level executor can
// serve every queue: `next()` points `target` at itself just before `new Promise(EXECUTOR)`.
// That saves a closure (and its context) per idle connection.
let target: ReceiveQueue<unknown> | null = null
function EXECUTOR(resolve: Resolve<unknown>, reject: Reject): void {
  const queue = target as ReceiveQueue<unknown>
  queue.waitWith(resolve, reject)
}

/** An unbounded FIFO with a single consumer, like Daphne's `asyncio.Queue` + `queue.get`. */
export class ReceiveQueue<T> {
  private items: T[] | null = null
  private head = 0
  private resolve: Resolve<T> | null = null
  private reject: Reject | null = null
  private cancelled: CancelledError | null = null
  /** The `receive` callable handed to the app (bound once). */
  readonly receive: () => Promise<T>

  constructor() {
    this.receive = this.next.bind(this)
  }

  /** @internal Called by the shared executor while `next()` builds its promise. */
  waitWith(resolve: Resolve<T>, reject: Reject): void {
    this.resolve = resolve
    this.reject = reject
  }

  /** Events waiting to be received. */
  get size(): number {
    return this.items === null ? 0 : this.items.length - this.head
  }

  /** True once `cancel()` was called. */
  get isCancelled(): boolean {
    return this.cancelled !== null
  }

  /** Deliver an event: straight to a waiting receive, else queued. Ignored after cancel. */
  push(item: T): void {
    if (this.cancelled) return
    const resolve = this.resolve
    if (resolve !== null) {
      this.resolve = null
      this.reject = null
      resolve(item)
      return
    }
    ;(this.items ??= []).push(item)
  }

  /** Reject the pending receive, and every later one, with CancelledError; drop queued events. */
  cancel(message = 'Application instance was cancelled'): void {
    if (this.cancelled) return
    this.cancelled = new CancelledError(message)
    this.items = null
    this.head = 0
    const reject = this.reject
    this.resolve = null
    this.reject = null
    if (reject !== null) reject(this.cancelled)
  }

  private next(): Promise<T> {
    if (this.cancelled) return Promise.reject(this.cancelled)
    const items = this.items
    if (items !== null) {
      const item = items[this.head] as T
      this.head++
      if (this.head === items.length) {
        // Drained: drop the array (an idle connection keeps none).
        this.items = null
        this.head = 0
      } else {
        items[this.head - 1] = undefined as T
        if (this.head > 1024 && this.head * 2 > items.length) {
          this.items = items.slice(this.head)
          this.head = 0
        }
      }
      return Promise.resolve(item)
    }
    if (this.resolve !== null) {
      // ASGI has one reader per instance; a second concurrent receive would orphan the first.
      return Promise.reject(
        new TypeError('receive() called again before the previous receive() resolved'),
      )
    }
    target = this as ReceiveQueue<unknown>
    const promise = new Promise<T>(EXECUTOR as (resolve: Resolve<T>, reject: Reject) => void)
    target = null
    return promise
  }
}
