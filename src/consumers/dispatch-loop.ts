/**
 * The loop behind every consumer: one pending `receive()` on the client and one on the channel
 * layer; whichever completes is dispatched to completion before that source is re-armed.
 * @module
 */
import { StopConsumer } from '../asgi/errors.js'
import type { ChannelMessage, Receive } from '../asgi/types.js'
import type { ChannelLayer } from '../layers/types.js'

/** What the loop needs from a consumer. */
export interface Dispatcher {
  dispatch(message: ChannelMessage): void | PromiseLike<void>
}

const CLIENT = 0
const LAYER = 1
type Source = typeof CLIENT | typeof LAYER

/**
 * Runs a consumer instance until a handler throws StopConsumer (resolves), anything else throws
 * (rejects), or the client receive rejects (e.g. CancelledError).
 *
 * Handlers run strictly one at a time, in arrival order, like Channels' `await_many_dispatch`.
 * Each source has at most one message in flight: it is re-armed only after its message was
 * dispatched, so a slow consumer leaves layer messages in the layer (where capacity applies)
 * instead of buffering them here.
 */
export class DispatchLoop {
  readonly #consumer: Dispatcher
  readonly #receive: Receive
  readonly #layer: ChannelLayer | null
  readonly #channel: string
  readonly #abort: AbortController | null
  #resolve!: () => void
  #reject!: (error: unknown) => void
  // At most one message per source is ever ready, so two slots and an order list suffice.
  #clientMessage: ChannelMessage | undefined
  #layerMessage: ChannelMessage | undefined
  readonly #order: Source[] = []
  #busy = false
  #done = false

  constructor(consumer: Dispatcher, receive: Receive, layer: ChannelLayer | null, channel: string) {
    this.#consumer = consumer
    this.#receive = receive
    this.#layer = layer
    this.#channel = channel
    this.#abort = layer === null ? null : new AbortController()
  }

  /** Start both sources; settles when the consumer ends. */
  run(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.#armClient()
    if (this.#layer !== null) this.#armLayer()
    return done
  }

  #armClient(): void {
    let pending: Promise<unknown>
    try {
      // Promise.resolve returns a native promise as-is; it only wraps a plain-JS server's value.
      pending = Promise.resolve(this.#receive())
    } catch (error) {
      this.#finish(error)
      return
    }
    pending.then(this.#onClient, this.#onClientError)
  }

  #armLayer(): void {
    this.#layer!.receive(this.#channel, { signal: this.#abort!.signal }).then(
      this.#onLayer,
      this.#onLayerError,
    )
  }

  readonly #onClient = (message: unknown): void => {
    if (this.#done) return
    this.#clientMessage = message as ChannelMessage
    this.#order.push(CLIENT)
    if (!this.#busy) void this.#drain()
  }

  readonly #onLayer = (message: ChannelMessage): void => {
    if (this.#done) return
    this.#layerMessage = message
    this.#order.push(LAYER)
    if (!this.#busy) void this.#drain()
  }

  readonly #onClientError = (error: unknown): void => this.#finish(error)

  readonly #onLayerError = (error: unknown): void => {
    // Our own abort on exit rejects the pending layer receive: that is not a failure.
    if (!this.#done) this.#finish(error)
  }

  async #drain(): Promise<void> {
    this.#busy = true
    try {
      while (this.#order.length > 0 && !this.#done) {
        const source = this.#order.shift()!
        let message: ChannelMessage
        if (source === CLIENT) {
          message = this.#clientMessage!
          this.#clientMessage = undefined
        } else {
          message = this.#layerMessage!
          this.#layerMessage = undefined
        }
        const result = this.#consumer.dispatch(message)
        // No extra promise hop for handlers that return synchronously.
        if (result !== undefined && typeof result.then === 'function') await result
        if (this.#done) break
        if (source === CLIENT) this.#armClient()
        else this.#armLayer()
      }
    } catch (error) {
      this.#finish(error)
    } finally {
      this.#busy = false
    }
  }

  #finish(error: unknown): void {
    if (this.#done) return
    this.#done = true
    this.#order.length = 0
    this.#clientMessage = this.#layerMessage = undefined
    // Cancel-safe by the layer contract: the aborted receive leaves its message in the channel.
    this.#abort?.abort()
    if (error instanceof StopConsumer) this.#resolve()
    else this.#reject(error)
  }
}
