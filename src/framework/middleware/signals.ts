/**
 * A tiny synchronous signal (Django's `django.dispatch.Signal`): receivers are called in
 * connection order when the signal is sent; an exception in a receiver propagates.
 * @module
 */

/** A named event with connectable receivers. */
export class Signal<T> {
  readonly #receivers = new Set<(payload: T) => void>()

  constructor(readonly name: string) {}

  /** Add a receiver; returns a function that disconnects it. */
  connect(receiver: (payload: T) => void): () => void {
    this.#receivers.add(receiver)
    return () => this.disconnect(receiver)
  }

  /** Remove a receiver; returns whether it was connected. */
  disconnect(receiver: (payload: T) => void): boolean {
    return this.#receivers.delete(receiver)
  }

  /** EventEmitter-style alias of {@link Signal.connect}. */
  on(receiver: (payload: T) => void): () => void {
    return this.connect(receiver)
  }

  /** EventEmitter-style alias of {@link Signal.disconnect}. */
  off(receiver: (payload: T) => void): boolean {
    return this.disconnect(receiver)
  }

  /** Call every receiver with `payload`. */
  send(payload: T): void {
    for (const receiver of [...this.#receivers]) receiver(payload)
  }
}
