/**
 * One application instance's receive queue: the hot path of every WebSocket message.
 *
 * An unbounded FIFO with a single reader, like Daphne's `asyncio.Queue` + `queue.get`. The
 * reader is either the app awaiting `receive()` (the plain path: when it is already waiting, an
 * incoming event resolves its promise directly; otherwise the event is queued) or, on the fast
 * path, a consumer loop registered as a {@link ReceiveSink} through the {@link ReceiveSource} this
 * queue attaches to its `receive` (src/framework/asgi/fast-path.ts): its events are handed over in
 * the shared hand-over batch. Cancellation makes the pending and every later `receive()` reject
 * (and a waiting sink fail) with CancelledError, which is how JavaScript apps are told to stop.
 *
 * An idle connection keeps one of these, so it is small: the server's connections extend it (one
 * object per connection, not two), which is why its state is in `#private` fields (no clash with
 * the connections' own); the backlog array exists only while events wait, and `receive` is a
 * bound method (no context object, unlike an arrow function).
 * @module
 */
import { CancelledError } from '../framework/asgi/errors.js'
import {
  attachReceiveSource,
  handOvers,
  type HandOver,
  type ReceiveSink,
  type ReceiveSource,
} from '../framework/asgi/fast-path.js'
import { getLogger } from '../framework/asgi/logging.js'

const log = getLogger('channels.server')

/** Who hears of an app instance that reported its own end (the server's connection). */
export interface CompletionOwner {
  /** The app ended: null normally, else what it failed with. Called from a microtask. */
  appCompleted(error: unknown): void
}

// `completion` states: claims not taken; taken during the app call; adopted (the owner relies on
// complete()); ended, to be reported to the owner.
const OFF = 0
const OPEN = 1
const ADOPTED = 2
const ENDED = 3

function ignore(): void {}

/** `handoff` holds nothing. */
const NONE: unique symbol = Symbol('none')

export class ReceiveQueue<T> implements ReceiveSource<T> {
  /** The queue's turn in the hand-over batch: give the sink what is due, report an ended app. */
  static readonly #handOver: HandOver<ReceiveQueue<unknown>, undefined> = {
    run: (queue) => {
      queue.#runHandOver()
    },
    failed: (error) => {
      // Sinks must not throw. If one does, that is a bug to report, not a reason to stop the
      // server or to keep the other queues from their events.
      const text = error instanceof Error ? error.message : String(error)
      log.error(`A receive sink threw: ${text}`, error)
    },
  }

  #items: T[] | null = null
  #head = 0
  #resolve: ((value: T) => void) | null = null
  #reject: ((reason: unknown) => void) | null = null
  #cancelled: CancelledError | null = null
  /** The sink waiting for the next event (receiveInto), if any. */
  #sink: ReceiveSink<T> | null = null
  /** The event for the waiting sink, when it arrived with nothing queued (no array needed). */
  #handoff: T | typeof NONE = NONE
  /** In the hand-over batch. */
  #scheduled = false
  #completion = OFF
  #claimed: Promise<void> | null = null
  /** What the ended app failed with (null: it did not). */
  #ending: unknown = null
  #owner: CompletionOwner | null = null
  /** The `receive` callable handed to the app; it carries this queue as its ReceiveSource. */
  readonly receive: () => Promise<T>

  constructor() {
    this.receive = this.#next.bind(this)
    attachReceiveSource(this.receive, this)
  }

  /** {@link ReceiveSource}: hand the next event (or the cancellation) to `sink`, later. */
  receiveInto(sink: ReceiveSink<T>): void {
    if (this.#resolve !== null || this.#sink !== null) throw concurrentReceive()
    this.#sink = sink
    if (this.#cancelled !== null || this.#items !== null) this.#schedule()
  }

  /**
   * Take completion claims (ReceiveSource.claimCompletion) during the app call that follows;
   * then `adopt` with what the app returned.
   */
  openClaims(owner: CompletionOwner): void {
    this.#owner = owner
    this.#completion = OPEN
  }

  /**
   * True when the app returned the promise it claimed and has not ended yet: `owner` then hears
   * of its end through `appCompleted` and need not react to the promise.
   */
  adopt(returned: Promise<void>): boolean {
    if (this.#completion === OPEN && returned === this.#claimed) {
      this.#completion = ADOPTED
      return true
    }
    this.#completion = OFF
    this.#claimed = null
    this.#owner = null
    return false
  }

  /** {@link ReceiveSource.claimCompletion}. */
  claimCompletion(promise: Promise<void>): void {
    if (this.#completion === OPEN && this.#claimed === null) this.#claimed = promise
  }

  /** {@link ReceiveSource.complete}. */
  complete(failed: boolean, error: unknown): void {
    if (this.#completion === OPEN) {
      // Ended during the app call: the server reacts to the returned promise as usual.
      this.#completion = OFF
      return
    }
    if (this.#completion !== ADOPTED) return
    this.#completion = ENDED
    this.#ending = failed ? (error ?? new Error('Application rejected without a reason')) : null
    // Nobody else may be listening: mark the rejection handled (the owner reports it).
    if (failed) this.#claimed?.then(undefined, ignore)
    this.#schedule()
  }

  /**
   * Give a waiting sink what is due right now, on this stack, instead of in the hand-over batch.
   * The server does this for `websocket.connect` inside the reactor's upgrade callback, so a
   * consumer that accepts without awaiting anything is upgraded there and then.
   */
  handOverNow(): void {
    if (this.#scheduled) this.#runHandOver()
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    handOvers.add(ReceiveQueue.#handOver, this as ReceiveQueue<unknown>, undefined)
  }

  #runHandOver(): void {
    // After handOverNow the batch still runs this entry: by then nothing (or only what arrived
    // since) is due.
    this.#scheduled = false
    const sink = this.#sink
    if (sink !== null) this.#handOverTo(sink)
    if (this.#completion === ENDED) {
      this.#completion = OFF
      const owner = this.#owner as CompletionOwner
      const ending = this.#ending
      this.#owner = null
      this.#claimed = null
      this.#ending = null
      owner.appCompleted(ending)
    }
  }

  #handOverTo(sink: ReceiveSink<T>): void {
    const cancelled = this.#cancelled
    if (cancelled !== null) {
      this.#sink = null
      sink.receiveError(cancelled)
      return
    }
    const handoff = this.#handoff
    if (handoff !== NONE) {
      this.#handoff = NONE
      this.#sink = null
      if (this.#items === null) this.emptied()
      sink.receiveEvent(handoff)
      return
    }
    if (this.#items === null) return
    this.#sink = null
    sink.receiveEvent(this.#take())
  }

  /**
   * The app took the last queued event. A no-op here; an HTTP request resumes reading its body
   * (flow control: the server holds only a bounded backlog for an app that reads slowly).
   */
  protected emptied(): void {}

  /** Events waiting to be received. */
  get size(): number {
    const queued = this.#items === null ? 0 : this.#items.length - this.#head
    return this.#handoff === NONE ? queued : queued + 1
  }

  /** True once `cancel()` was called. */
  get isCancelled(): boolean {
    return this.#cancelled !== null
  }

  /** Add an event: straight to a waiting receive, else queued. Ignored after cancel. */
  push(item: T): void {
    if (this.#cancelled) return
    const resolve = this.#resolve
    if (resolve !== null) {
      this.#resolve = null
      this.#reject = null
      resolve(item)
      return
    }
    if (this.#sink !== null) {
      if (this.#items === null && this.#handoff === NONE) this.#handoff = item
      else (this.#items ??= []).push(item)
      this.#schedule()
      return
    }
    ;(this.#items ??= []).push(item)
  }

  /** Reject the pending receive, and every later one, with CancelledError; drop queued events. */
  cancel(message = 'Application instance was cancelled'): void {
    if (this.#cancelled) return
    this.#cancelled = new CancelledError(message)
    this.#items = null
    this.#head = 0
    this.#handoff = NONE
    const reject = this.#reject
    this.#resolve = null
    this.#reject = null
    if (reject !== null) reject(this.#cancelled)
    if (this.#sink !== null) this.#schedule()
  }

  /** The oldest queued event (`items` must be non-null). */
  #take(): T {
    const items = this.#items as T[]
    const item = items[this.#head] as T
    this.#head++
    if (this.#head === items.length) {
      // Drained: drop the array (an idle connection keeps none).
      this.#items = null
      this.#head = 0
      if (this.#handoff === NONE) this.emptied()
    } else {
      items[this.#head - 1] = undefined as T
      if (this.#head > 1024 && this.#head * 2 > items.length) {
        this.#items = items.slice(this.#head)
        this.#head = 0
      }
    }
    return item
  }

  #next(): Promise<T> {
    if (this.#cancelled) return Promise.reject(this.#cancelled)
    if (this.#resolve !== null || this.#sink !== null) return Promise.reject(concurrentReceive())
    if (this.#items !== null) return Promise.resolve(this.#take())
    return new Promise<T>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }
}

// ASGI has one reader per instance; a second concurrent receive would orphan the first.
function concurrentReceive(): TypeError {
  return new TypeError('receive() called again before the previous receive() resolved')
}
