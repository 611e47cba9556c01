/**
 * An optional fast path behind an ASGI `receive` callable: events pushed into a registered sink
 * instead of one promise per `receive()`.
 *
 * A plain `receive()` that waits costs a promise, its two resolving functions and their context,
 * plus the reaction and derived promise of whoever awaits it: seven objects kept alive by every
 * idle connection, and allocated again for every message. A server whose `receive` carries a
 * {@link ReceiveSource} under {@link RECEIVE_SOURCE} lets the consumer loop skip all of that.
 * Everything else (middleware, user apps, the test communicators) still just calls `receive()`;
 * a middleware that wraps `receive` hides the source and the consumer falls back to promises.
 *
 * A server can also *offer* the source for the app call it makes ({@link offerReceiveSource} /
 * {@link withdrawReceiveSource}): during the call the `receive` is recognised by identity, so a
 * consumer that starts within the call (as consumers do) finds it without a property on the
 * function (a property array per connection); the property is added afterwards only when
 * nobody asked, for an app that starts its consumer later.
 * @module
 */

/**
 * A promise that is already fulfilled, shared. A server's `send` may return it for an event it
 * handled synchronously (ours does), and the consumer loop then goes on at once instead of
 * awaiting it: a handler that returns it (the default `connect()`, which returns `accept()`)
 * costs no reaction, no derived promise and no microtask. Returning any other promise (or this
 * one from anywhere else) is just awaited as usual.
 */
export const SETTLED: Promise<void> = Promise.resolve()

/** The key under which a `receive` callable may carry its {@link ReceiveSource}. */
export const RECEIVE_SOURCE: unique symbol = Symbol.for('channels-ts.receive-source')

/** Where a {@link ReceiveSource} delivers. Its methods must not throw. */
export interface ReceiveSink<T = unknown> {
  /** The event `receive()` would have resolved with. */
  receiveEvent(event: T): void
  /** The reason `receive()` would have rejected with (e.g. CancelledError). */
  receiveError(error: unknown): void
}

/** The push-style form of `receive()`. */
export interface ReceiveSource<T = unknown> {
  /**
   * Like one `receive()` call: exactly one later `receiveEvent` or `receiveError` on `sink`,
   * always asynchronously (never during this call). Throws, like a second concurrent
   * `receive()`, when a receive or a sink is already waiting.
   */
  receiveInto(sink: ReceiveSink<T>): void
  /**
   * Optional. The app instance will return `promise` and report its end with `complete()`; if
   * the server gets exactly this promise back from the app (no middleware wrapped it), it may
   * rely on `complete()` instead of reacting to the promise: per connection, that saves the
   * reaction, the derived promise and two bound handlers. Call once, during the app call.
   */
  claimCompletion?(promise: Promise<void>): void
  /**
   * Optional. The app instance ended: normally (`failed` false) or with `error`. Call once,
   * before settling the claimed promise (which must still settle: others may await it).
   */
  complete?(failed: boolean, error: unknown): void
}

/** The {@link ReceiveSource} behind `receive`, or null when it offers none. */
export function receiveSourceOf<T>(receive: () => unknown): ReceiveSource<T> | null {
  if (receive === offeredReceive) {
    offerTaken = true
    return offeredSource as ReceiveSource<T>
  }
  const source = (receive as { [RECEIVE_SOURCE]?: ReceiveSource<T> })[RECEIVE_SOURCE]
  return source !== undefined && typeof source.receiveInto === 'function' ? source : null
}

// The offer in force (see the module notes): one at a time, as app calls do not nest in practice;
// should one nest, the outer offer is simply lost and its `receive` gets the property.
let offeredReceive: unknown = null
let offeredSource: ReceiveSource | null = null
let offerTaken = false

/** Offer `source` for `receive` during the app call about to be made with it. */
export function offerReceiveSource<T>(receive: () => unknown, source: ReceiveSource<T>): void {
  offeredReceive = receive
  offeredSource = source as ReceiveSource
  offerTaken = false
}

/**
 * End the offer made for `receive` (call after the app call, also when it threw). Unless a
 * consumer took it during the call, `receive` gets the {@link RECEIVE_SOURCE} property instead.
 */
export function withdrawReceiveSource<T>(receive: () => unknown, source: ReceiveSource<T>): void {
  const taken = offeredReceive === receive && offerTaken
  if (offeredReceive === receive) {
    offeredReceive = null
    offeredSource = null
    offerTaken = false
  }
  if (!taken) (receive as { [RECEIVE_SOURCE]?: ReceiveSource<T> })[RECEIVE_SOURCE] = source
}
