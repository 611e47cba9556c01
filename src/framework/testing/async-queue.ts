/**
 * A minimal unbounded FIFO with awaitable, cancellable takes (asyncio.Queue's role in asgiref).
 * @module
 */

interface Waiter<T> {
  resolve: (item: T) => void
  reject: (error: unknown) => void
}

/** FIFO queue: `put` never waits; `get` waits for an item; waiters can be withdrawn or failed. */
export class AsyncQueue<T> {
  readonly #items: T[] = []
  readonly #waiters: Waiter<T>[] = []
  readonly #watchers = new Set<() => void>()

  /** Items waiting to be taken. */
  get size(): number {
    return this.#items.length
  }

  /** Hand `item` to the oldest waiter, or store it. */
  put(item: T): void {
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) waiter.resolve(item)
    else this.#items.push(item)
    for (const watcher of this.#watchers) watcher()
  }

  /** Call `listener` after every `put` (without taking the item); returns the unsubscribe. */
  watch(listener: () => void): () => void {
    this.#watchers.add(listener)
    return () => this.#watchers.delete(listener)
  }

  /** The next item, waiting for one if needed. */
  get(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!)
    return new Promise<T>((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  /**
   * Like `get`, but the caller keeps a handle: `cancel()` withdraws the waiter so a later `put`
   * is not swallowed by a taker that stopped listening.
   */
  take(onItem: (item: T) => void): () => void {
    if (this.#items.length > 0) {
      onItem(this.#items.shift()!)
      return () => {}
    }
    const waiter: Waiter<T> = { resolve: onItem, reject: () => {} }
    this.#waiters.push(waiter)
    return () => {
      const index = this.#waiters.indexOf(waiter)
      if (index !== -1) this.#waiters.splice(index, 1)
    }
  }

  /** Reject every pending `get` with `error`. */
  failWaiters(error: unknown): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error)
  }
}
