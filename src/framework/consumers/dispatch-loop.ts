/**
 * The loop behind every consumer: one pending `receive()` on the client and one on the channel
 * layer; whichever completes is dispatched to completion before that source is re-armed.
 * @module
 */
import { StopConsumer } from '../asgi/errors.js'
import {
  fastPathsEnabled,
  isSettled,
  receiveSourceOf,
  type ReceiveSink,
  type ReceiveSource,
} from '../asgi/fast-path.js'
import type { ChannelMessage, Receive } from '../asgi/types.js'
import type { ChannelLayer, LayerReceiver } from '../layers/types.js'

/** What the loop needs from a consumer. */
export interface Dispatcher {
  dispatch(message: ChannelMessage): void | PromiseLike<void>
}

/** True for a promise or any other object with a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  )
}

const NONE = 0
const CLIENT = 1
const LAYER = 2
type Source = typeof NONE | typeof CLIENT | typeof LAYER

/**
 * Runs a consumer instance until a handler throws StopConsumer (resolves), anything else throws
 * (rejects), or the client receive rejects (e.g. CancelledError).
 *
 * Handlers run strictly one at a time, in arrival order, like Channels' `await_many_dispatch`.
 * Each source has at most one message in flight: it is re-armed only after its message was
 * dispatched, so a slow consumer leaves layer messages in the layer (where capacity applies)
 * instead of buffering them here.
 *
 * The plain path awaits `receive()` and the layer's `receive()` with an AbortSignal. On the fast
 * paths (src/framework/asgi/fast-path.ts) the loop is the ReceiveSink of the server's `receive`
 * when it carries a ReceiveSource (ours does), and the `receiveInto` receiver of a layer that has
 * one (the in-memory layer): an idle consumer then waits on no promise, and a message allocates
 * nothing here. Built for many idle instances and hot deliveries: no async function frames and
 * no closures per message.
 */
export class DispatchLoop implements LayerReceiver, ReceiveSink<ChannelMessage> {
  readonly #consumer: Dispatcher
  readonly #receive: Receive
  readonly #source: ReceiveSource<ChannelMessage> | null
  readonly #layer: ChannelLayer | null
  /** The layer is read through receiveInto/cancelReceive (fast path). */
  readonly #intoLayer: boolean
  #channel = ''
  // Only when the layer is read through receive().
  #abort: AbortController | null = null
  // Only the resolving function is kept (one closure less per connection): a failure resolves
  // the promise with a rejected one, which it then adopts.
  #resolve!: (value?: PromiseLike<void>) => void
  // At most one message per source is ever ready; `#first` says which arrived first.
  #clientMessage: ChannelMessage | undefined
  #layerMessage: ChannelMessage | undefined
  #first: Source = NONE
  /** The source whose message is being dispatched (NONE when idle). */
  #current: Source = NONE
  #done = false
  // Bound methods (no context object): #onClient only for a `receive` without a ReceiveSource,
  // #onError and #onResume for awaited handlers (see #pump).
  #onClient: ((message: unknown) => void) | null = null
  #onError: ((error: unknown) => void) | null = null
  #onResume: (() => void) | null = null
  /** A handler's promise was awaited before. */
  #awaited = false

  constructor(consumer: Dispatcher, receive: Receive, layer: ChannelLayer | null) {
    this.#consumer = consumer
    this.#receive = receive
    this.#source = receiveSourceOf<ChannelMessage>(receive)
    this.#layer = layer
    this.#intoLayer =
      layer !== null &&
      fastPathsEnabled() &&
      layer.receiveInto !== undefined &&
      layer.cancelReceive !== undefined
  }

  /** The promise that settles when the consumer ends; call once, before `start`. */
  promise(): Promise<void> {
    const promise = new Promise<void>((resolve) => {
      this.#resolve = resolve
    })
    // The server may then hear of our end from complete() instead of reacting to the promise.
    this.#source?.claimCompletion(promise)
    return promise
  }

  /**
   * Start both sources (`channel` is the consumer's layer channel, if there is a layer). Call
   * once, instead of `fail`.
   */
  start(channel: string): void {
    this.#channel = channel
    this.#armClient()
    // The client side fails the loop at once when `receive` refuses a reader.
    if (this.#layer !== null && !this.#done) this.#armLayer()
  }

  /** End the loop with `error` before (or instead of) `start`. */
  fail(error: unknown): void {
    this.#finish(error)
  }

  /** `receiveInto` delivery (LayerReceiver). */
  layerMessage(message: ChannelMessage): void {
    if (this.#done) return
    this.#layerMessage = message
    if (this.#first === NONE) this.#first = LAYER
    if (this.#current === NONE) this.#pump()
  }

  /** `receiveInto` failure (LayerReceiver), e.g. the layer closed. */
  layerError(error: unknown): void {
    if (!this.#done) this.#finish(error)
  }

  /** ReceiveSink: the client event we asked the ReceiveSource for. */
  receiveEvent(message: ChannelMessage): void {
    if (this.#done) return
    this.#clientMessage = message
    if (this.#first === NONE) this.#first = CLIENT
    if (this.#current === NONE) this.#pump()
  }

  /** ReceiveSink: the client receive failed (e.g. the instance was cancelled). */
  receiveError(error: unknown): void {
    this.#finish(error)
  }

  #armClient(): void {
    const source = this.#source
    if (source !== null) {
      try {
        source.receiveInto(this)
      } catch (error) {
        this.#finish(error)
      }
      return
    }
    let pending: Promise<unknown>
    try {
      // Promise.resolve returns a native promise as-is; it only wraps a plain-JS server's value.
      pending = Promise.resolve(this.#receive())
    } catch (error) {
      this.#finish(error)
      return
    }
    this.#onClient ??= this.receiveEvent.bind(this) as (message: unknown) => void
    this.#onError ??= this.receiveError.bind(this)
    pending.then(this.#onClient, this.#onError)
  }

  #armLayer(): void {
    const layer = this.#layer as ChannelLayer
    if (this.#intoLayer) {
      try {
        layer.receiveInto!(this.#channel, this)
      } catch (error) {
        this.#finish(error)
      }
      return
    }
    this.#abort ??= new AbortController()
    layer.receive(this.#channel, { signal: this.#abort.signal }).then(
      (message) => this.layerMessage(message),
      (error: unknown) => this.layerError(error),
    )
  }

  /** An async handler finished: re-arm its source and go on. */
  #resumed(): void {
    const source = this.#current
    this.#current = NONE
    if (this.#done) return
    // Arming never hands a message over synchronously: #pump finds only what was ready before.
    this.#rearm(source)
    this.#pump()
  }

  /** Dispatch ready messages until one needs awaiting or none is left. */
  #pump(): void {
    while (!this.#done) {
      const source = this.#first
      let message: ChannelMessage
      if (source === CLIENT) {
        message = this.#clientMessage as ChannelMessage
        this.#clientMessage = undefined
        this.#first = this.#layerMessage === undefined ? NONE : LAYER
      } else if (source === LAYER) {
        message = this.#layerMessage as ChannelMessage
        this.#layerMessage = undefined
        this.#first = this.#clientMessage === undefined ? NONE : CLIENT
      } else {
        return
      }
      this.#current = source
      // What user code returned: anything, checked below.
      let result: unknown
      try {
        result = this.#consumer.dispatch(message)
      } catch (error) {
        this.#current = NONE
        this.#finish(error)
        return
      }
      // No promise hop for handlers that return synchronously, or SETTLED (a send the server
      // completed at once, e.g. the default connect()'s accept()).
      if (!isSettled(result) && isThenable(result)) {
        // The first awaited handler (usually websocket.connect) gets fresh bound methods, so a
        // consumer that then stays idle keeps none; from the second on the two are kept, so a
        // busy consumer allocates nothing per message here.
        if (!this.#awaited) {
          this.#awaited = true
          result.then(this.#resumed.bind(this), this.receiveError.bind(this))
          return
        }
        this.#onResume ??= this.#resumed.bind(this)
        this.#onError ??= this.receiveError.bind(this)
        result.then(this.#onResume, this.#onError)
        return
      }
      this.#current = NONE
      this.#rearm(source)
    }
  }

  #rearm(source: Source): void {
    if (source === CLIENT) this.#armClient()
    else this.#armLayer()
  }

  #finish(error: unknown): void {
    if (this.#done) return
    this.#done = true
    this.#first = NONE
    this.#clientMessage = this.#layerMessage = undefined
    // Cancel-safe by the layer contract: a message taken for us goes back to the channel.
    const layer = this.#layer
    if (layer !== null && this.#channel !== '') {
      try {
        if (this.#intoLayer) layer.cancelReceive!(this.#channel, this)
        else this.#abort?.abort()
      } catch {
        // Nothing to do: the consumer is over either way, and its outcome matters more.
      }
    }
    const stopped = error instanceof StopConsumer
    try {
      this.#source?.complete(!stopped, error)
    } catch {
      // The promise below still tells everyone else.
    }
    if (stopped) this.#resolve()
    else this.#resolve(Promise.reject(error))
  }
}
