/**
 * The fast paths of a message between the server, the channel layer and a consumer, in one
 * place. Internal: nothing here is exported from the package root.
 *
 * Each fast path has a plain equivalent, and the plain one is the reference: the fast path must
 * give the same results (test/framework/asgi/fast-path-contract.test.ts runs the same scenarios
 * through both). {@link setFastPaths}(false) makes every user of this module take the plain path:
 *
 * | fast path                                   | plain path                                    |
 * | ------------------------------------------- | --------------------------------------------- |
 * | the consumer is the {@link ReceiveSink} of  | the consumer awaits `receive()`               |
 * | the server's {@link ReceiveSource}          |                                               |
 * | the consumer is the layer's `receiveInto`   | the consumer awaits the layer's `receive()`   |
 * | receiver                                    | with an AbortSignal                           |
 * | hand-overs run in one shared microtask      | (one promise reaction per receive)            |
 * | ({@link HandOverBatch})                     |                                               |
 * | a handler returning {@link SETTLED} is not  | every returned promise is awaited             |
 * | awaited                                     |                                               |
 * | the consumer reports its end through        | the server reacts to the app's promise        |
 * | `complete()` (a completion claim)           |                                               |
 * | the layer names the channel synchronously   | the consumer awaits `newChannel()`            |
 * | (`newChannelNow`)                           |                                               |
 *
 * What they save is memory per idle connection and allocations per message: a waiting
 * `receive()` keeps a promise, its two resolving functions and the awaiting side's reaction and
 * derived promise alive for as long as the connection is idle, and allocates them again for every
 * message.
 * @module
 */
import { getLogger } from './logging.js'

let fast = true

/** True unless {@link setFastPaths} turned the fast paths off. */
export function fastPathsEnabled(): boolean {
  return fast
}

/**
 * Turn the fast paths on or off for what starts from now on (consumers already running keep the
 * path they started with); returns the previous setting. For the contract test and benchmarks.
 */
export function setFastPaths(enabled: boolean): boolean {
  const previous = fast
  fast = enabled
  return previous
}

/**
 * The one settled promise. The server's `send` returns it for an event it handled synchronously,
 * and the consumer loop then goes on at once instead of awaiting it: a handler that returns it
 * (the default `connect()`, which returns `accept()`) costs no reaction, no derived promise and no
 * microtask. Any other promise, settled or not, is awaited as usual.
 */
export const SETTLED: Promise<void> = Promise.resolve()

/** True for {@link SETTLED} while the fast paths are on: the caller need not await `value`. */
export function isSettled(value: unknown): boolean {
  return fast && value === SETTLED
}

// ---- push-style receive ------------------------------------------------------------------------

/** The key under which a `receive` callable carries its {@link ReceiveSource}. */
export const RECEIVE_SOURCE: unique symbol = Symbol.for('channels-ts.receive-source')

/** What a {@link ReceiveSource} hands events over to. Its methods must not throw. */
export interface ReceiveSink<T = unknown> {
  /** The event `receive()` would have resolved with. */
  receiveEvent(event: T): void
  /** The reason `receive()` would have rejected with (e.g. CancelledError). */
  receiveError(error: unknown): void
}

/** The push-style form of an ASGI `receive()`, offered by the server's receive queue. */
export interface ReceiveSource<T = unknown> {
  /**
   * Like one `receive()` call: exactly one later `receiveEvent` or `receiveError` on `sink`,
   * always asynchronously (never during this call). Throws, like a second concurrent
   * `receive()`, when a receive or a sink is already waiting.
   */
  receiveInto(sink: ReceiveSink<T>): void
  /**
   * The app instance will return `promise` and report its end with `complete()`. If the server
   * gets exactly this promise back from the app (no middleware wrapped it), it relies on
   * `complete()` instead of reacting to the promise, which saves the reaction, its derived
   * promise and two bound handlers per connection. Call once, during the app call.
   */
  claimCompletion(promise: Promise<void>): void
  /**
   * The app instance ended: normally (`failed` false) or with `error`. Call once, before settling
   * the claimed promise (which must still settle: others may await it).
   */
  complete(failed: boolean, error: unknown): void
}

/** Attach `source` to the `receive` callable the server hands to the app. */
export function attachReceiveSource<T>(receive: () => unknown, source: ReceiveSource<T>): void {
  ;(receive as { [RECEIVE_SOURCE]?: ReceiveSource<T> })[RECEIVE_SOURCE] = source
}

/**
 * The {@link ReceiveSource} behind `receive`, or null: when the fast paths are off, or when
 * `receive` is not the server's own (a middleware that wraps `receive` hides the source, and the
 * consumer then awaits `receive()`).
 */
export function receiveSourceOf<T>(receive: () => unknown): ReceiveSource<T> | null {
  if (!fast) return null
  const source = (receive as { [RECEIVE_SOURCE]?: ReceiveSource<T> })[RECEIVE_SOURCE]
  return source ?? null
}

// ---- the hand-over batch -----------------------------------------------------------------------

/** One kind of hand-over: what running an entry does, and who hears of it throwing. */
export interface HandOver<T, V> {
  /** Hand `value` to `target`. Must not throw. */
  run(target: T, value: V): void
  /** `run` threw anyway: report it (the batch goes on with the other entries). */
  failed(error: unknown): void
}

/** What {@link HandOverBatch.takeBack} returns when no entry was pending. */
export const NOT_PENDING: unique symbol = Symbol('not pending')

const STRIDE = 3
const log = getLogger('channels.server')

/**
 * Hand-overs (an event to a receive sink, a layer message to its receiver) that must happen
 * later than the call that makes them, run together: one microtask for everything due, not one
 * promise reaction per message. The server's receive queues and the in-memory layer share
 * {@link handOvers}, so a group send that reaches a thousand consumers costs one microtask.
 */
export class HandOverBatch {
  // Entries are [kind, target, value] triples in one array that is reused from batch to batch:
  // no object per entry.
  readonly #entries: unknown[] = []
  /** During a run: the index of the next entry to run. */
  #next = 0
  readonly #runAll = (): void => {
    this.#run()
  }

  /** Run `kind.run(target, value)` in the next batch. */
  add<T, V>(kind: HandOver<T, V>, target: T, value: V): void {
    const entries = this.#entries
    // A reaction on a settled promise rather than queueMicrotask, which wraps every callback in
    // an AsyncResource that costs more than the hand-overs themselves.
    if (entries.length === 0) void SETTLED.then(this.#runAll)
    entries.push(kind, target, value)
  }

  /**
   * Remove the pending entry of `kind` for `target` and return its value; {@link NOT_PENDING}
   * when there is none (it ran already, or was never added).
   */
  takeBack<T, V>(kind: HandOver<T, V>, target: T): V | typeof NOT_PENDING {
    const entries = this.#entries
    for (let i = this.#next; i < entries.length; i += STRIDE) {
      if (entries[i] === kind && entries[i + 1] === target) {
        const value = entries[i + 2] as V
        entries[i] = entries[i + 1] = entries[i + 2] = undefined
        return value
      }
    }
    return NOT_PENDING
  }

  #run(): void {
    const entries = this.#entries
    // Entries added while this runs join this same run, after the others.
    for (let i = 0; i < entries.length; i += STRIDE) {
      const kind = entries[i] as HandOver<unknown, unknown> | undefined
      if (kind === undefined) continue
      const target = entries[i + 1]
      const value = entries[i + 2]
      entries[i] = entries[i + 1] = entries[i + 2] = undefined
      this.#next = i + STRIDE
      try {
        kind.run(target, value)
      } catch (error) {
        try {
          kind.failed(error)
        } catch (failure) {
          log.error('A hand-over failed and so did its report', failure)
        }
      }
    }
    entries.length = 0
    this.#next = 0
  }
}

/** The process's one hand-over batch. */
export const handOvers = new HandOverBatch()
