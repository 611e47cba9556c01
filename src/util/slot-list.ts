/**
 * An unordered set of objects that carry their own index (`slot`): add and delete are an array
 * push and a swap-remove, with no hashing. The server's connection table and the uWS reactor's
 * open sockets hold one entry per connection, so every handshake and close adds and deletes one:
 * with a `Set`, each would hash the connection in and out.
 * @module
 */

/** What a {@link SlotList} can hold: the list keeps the member's index here (-1: not in one). */
export interface Slotted {
  slot: number
}

export class SlotList<T extends Slotted> {
  readonly #items: T[] = []

  get size(): number {
    return this.#items.length
  }

  /** Add `item` (it must not be in a list already). */
  add(item: T): void {
    item.slot = this.#items.length
    this.#items.push(item)
  }

  /** Remove `item`; false when it was not in this list. */
  delete(item: T): boolean {
    const items = this.#items
    const slot = item.slot
    if (slot < 0 || items[slot] !== item) return false
    const last = items.pop() as T
    if (last !== item) {
      items[slot] = last
      last.slot = slot
    }
    item.slot = -1
    return true
  }

  /** A copy of the members, in no particular order. */
  toArray(): T[] {
    return [...this.#items]
  }

  /**
   * Call `fn` on every member. Safe when `fn` removes the member it is given (walking backwards,
   * a swap-remove brings in a member already visited).
   */
  forEachRemovable(fn: (item: T) => void): void {
    const items = this.#items
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]
      if (item !== undefined) fn(item)
    }
  }
}
