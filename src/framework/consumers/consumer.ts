/**
 * The base consumers: one instance per connection (scope), messages dispatched to methods named
 * after their type (`'chat.message'` → `chat_message`), one at a time.
 * @module
 */
import { AsgiProtocolError, InvalidChannelLayerError, ValueError } from '../asgi/errors.js'
import type {
  Application,
  AsgiSendEvent,
  ChannelMessage,
  Receive,
  Scope,
  Send,
} from '../asgi/types.js'
import { fastPathsEnabled, SETTLED } from '../asgi/fast-path.js'
import { addLayerHint, getChannelLayer } from '../layers/registry.js'
import type { ChannelLayer } from '../layers/types.js'
import { DispatchLoop, isThenable } from './dispatch-loop.js'
import { handlerName } from './handler-name.js'
import type {
  ConsumerLayer,
  ConsumerScope,
  ConsumerTypes,
  consumerTypes,
  HandlersCheck,
} from './typed-messages.js'

/**
 * Any consumer, whatever it declares. A consumer's declarations change the types of its layer
 * and handlers, so one declaring events is no `AsyncConsumer<ConsumerTypes>`: only `any` as the
 * type argument accepts them all.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type AnyConsumer = AsyncConsumer<any>

/** A consumer class with a no-argument constructor (what `asAsgi` instantiates). */
export type ConsumerClass<C extends AnyConsumer = AsyncConsumer> = new () => C

/** The application `asAsgi()` returns; it remembers what it builds, as in Channels. */
export interface ConsumerApplication<C extends AnyConsumer = AsyncConsumer> extends Application {
  readonly consumerClass: ConsumerClass<C>
  readonly consumerInitKwargs: Partial<C>
}

/** `channelLayer` before the consumer serves a connection: not looked up yet. */
const UNSET = undefined

/** Why `channelLayer` has no layer to give: none configured, or not looked up yet. */
function noLayer(consumer: AnyConsumer, layer: null | typeof UNSET): InvalidChannelLayerError {
  const name = consumer.constructor.name || 'AsyncConsumer'
  const alias = consumer.channelLayerAlias
  if (layer === UNSET) {
    return new InvalidChannelLayerError(
      `${name}.channelLayer was read before the consumer serves a connection: it is looked up ` +
        `in CHANNEL_LAYERS when the connection starts.`,
    )
  }
  return new InvalidChannelLayerError(
    `${name}.channelLayer: no channel layer is configured for alias '${alias}'. ` +
      addLayerHint(alias),
  )
}

/**
 * The layer a consumer looked up, or null (none configured, or not serving yet): what the
 * framework's own code reads where Channels tests `self.channel_layer` for None. Not exported
 * from the package.
 */
export let layerOf: (consumer: AnyConsumer) => ChannelLayer | null

type Handler = (this: AsyncConsumer, message: ChannelMessage) => unknown

const noop = (): void => {}

/**
 * Channels' `AsyncConsumer`. Subclass it and add handlers named after message types; serve it
 * with `MyConsumer.asAsgi()`. A message whose type has no handler kills the instance with
 * ValueError. Note that any public method is reachable by a message of that name (as in
 * Channels), so keep helpers that must not be callable by messages `#private`.
 */
export class AsyncConsumer<Types extends ConsumerTypes = ConsumerTypes> {
  /**
   * `true` in the sync flavours (`SyncConsumer`, `WebsocketConsumer`, `JsonWebsocketConsumer`):
   * handlers are plain functions, the sends they make are queued in order and awaited by
   * `dispatch` after the handler returns, so their errors still surface.
   */
  static syncHandlers = false

  /** What this consumer declares (type level only: never set). See `ConsumerTypes`. */
  declare readonly [consumerTypes]?: Types

  /** The connection scope this instance serves. */
  scope!: ConsumerScope<Scope, Types>
  /** This instance's channel on the layer (set before the first message when there is a layer). */
  channelName!: string
  /** Which CHANNEL_LAYERS alias to use. */
  channelLayerAlias = 'default'

  /** The layer for `channelLayerAlias`: null when none is configured, UNSET before `#run`. */
  #layer: ChannelLayer | null | typeof UNSET = UNSET
  #send: Send | undefined
  #queued = false
  #chain: Promise<unknown> | undefined

  static {
    layerOf = (consumer) => consumer.#layer ?? null
  }

  /**
   * An application that builds one new instance per call (connection), with `initKwargs`
   * assigned onto it (Channels' `as_asgi(**initkwargs)`).
   */
  static asAsgi<C extends AnyConsumer>(
    this: ConsumerClass<C> & NoInfer<HandlersCheck<C>>,
    initKwargs?: Partial<C>,
  ): ConsumerApplication<C> {
    const consumerInitKwargs: Partial<C> = initKwargs ?? {}
    // Read once, like Channels' as_asgi: the common no-kwargs case skips the assign per connection.
    const hasKwargs = Reflect.ownKeys(consumerInitKwargs).length > 0
    const app: Application = (scope, receive, send) => {
      const consumer = new this()
      if (hasKwargs) Object.assign(consumer, consumerInitKwargs)
      return consumer.#run(scope, receive, send)
    }
    Object.defineProperty(app, 'name', { value: this.name })
    return Object.assign(app, { consumerClass: this, consumerInitKwargs })
  }

  // Not async, and the loop's own promise is what the server gets: an async frame or a promise
  // adopting another one would stay alive (and in memory) for the whole connection.
  #run(scope: Scope, receive: Receive, send: Send): Promise<void> {
    let loop: DispatchLoop
    let layer: ChannelLayer | null
    try {
      // The declared kwargs and middleware keys are the declaration's promise (see ConsumerTypes).
      this.scope = scope as ConsumerScope<Scope, Types>
      this.#send = this.wrapSend(send)
      this.#queued = (this.constructor as typeof AsyncConsumer).syncHandlers
      layer = getChannelLayer(this.channelLayerAlias) ?? null
      this.#layer = layer
      loop = new DispatchLoop(this, receive, layer)
    } catch (error) {
      return Promise.reject(error)
    }
    const done = loop.promise()
    if (layer === null) {
      loop.start('')
      return done
    }
    let named: Promise<string>
    try {
      // Named synchronously when the layer can (fast path): the loop is then waiting for
      // `websocket.connect` before the app call returns, and the server can complete the
      // handshake inside the reactor's upgrade callback.
      const now = fastPathsEnabled() ? (layer.newChannelNow?.() ?? null) : null
      if (now !== null) {
        this.channelName = now
        loop.start(now)
        return done
      }
      named = layer.newChannel()
    } catch (error) {
      loop.fail(error)
      return done
    }
    named.then(
      (name) => {
        this.channelName = name
        loop.start(name)
      },
      (error: unknown) => loop.fail(error),
    )
    return done
  }

  /**
   * The channel layer for `channelLayerAlias` (Channels' `self.channel_layer`). Throws
   * InvalidChannelLayerError naming CHANNEL_LAYERS when that alias is not configured, so code that
   * needs a layer says why it has none instead of failing on `null`. Typed by the consumer's
   * declared events (see `ConsumerTypes.events`). To ask whether there is one, use
   * `getChannelLayer(this.channelLayerAlias)`, which returns null instead.
   */
  get channelLayer(): ConsumerLayer<Types> {
    const layer = this.#layer
    if (layer === UNSET || layer === null) throw noLayer(this, layer)
    return layer as ConsumerLayer<Types>
  }

  /** Put a layer in place for this instance (e.g. in a test); null: none. */
  set channelLayer(layer: ChannelLayer | null) {
    this.#layer = layer
  }

  /** Hook for subclasses that wrap the server's `send` once per connection. */
  protected wrapSend(send: Send): Send {
    return send
  }

  /**
   * Hook run on every event just before it goes to the server: return false to drop it, throw
   * to refuse it (the send rejects). A method rather than a `wrapSend` closure: no closure
   * per connection. The WebSocket consumers run their state machine here.
   */
  protected admitSend(_message: AsgiSendEvent): boolean {
    return true
  }

  /** Send a raw ASGI event to the server (in the sync flavours: queued, no need to await). */
  send(message: AsgiSendEvent): Promise<void> {
    if (this.#send === undefined) {
      return Promise.reject(
        new AsgiProtocolError('Cannot send: the consumer is not serving a connection yet'),
      )
    }
    if (!this.#queued) return this.#sendNow(message)
    return this.defer(() => this.#sendNow(message))
  }

  /** Check `message` against the consumer's state, then call the server's `send` with it. */
  #sendNow(message: AsgiSendEvent): Promise<void> {
    try {
      // Dropped: settled, so the consumer loop need not await it.
      if (!this.admitSend(message)) return SETTLED
    } catch (error) {
      return Promise.reject(error)
    }
    return (this.#send as Send)(message)
  }

  /**
   * Run `task` after every send and task queued before it; `dispatch` awaits it after the
   * handler returns. This is how a sync handler does async work, such as
   * `this.defer(() => this.channelLayer.groupSend(room, event))` (Channels' `async_to_sync`).
   * In async consumers it just runs `task`: await the result.
   */
  defer(task: () => unknown): Promise<void> {
    const chain = this.#chain
    let link: Promise<unknown>
    if (chain === undefined) {
      try {
        link = Promise.resolve(task())
      } catch (error) {
        link = Promise.reject(error)
      }
    } else {
      link = chain.then(task)
    }
    if (this.#queued) {
      // Marked handled here: the rejection still surfaces from dispatch, which awaits the chain.
      link.then(noop, noop)
      this.#chain = link
    }
    return link as Promise<void>
  }

  /**
   * Call the handler for `message.type` (`.` → `_`) and return its completion. Throws
   * ValueError for a missing type, a leading underscore, or no handler.
   */
  dispatch(message: ChannelMessage): void | Promise<void> {
    // Messages come from other code (a server, a layer, a test): check rather than trust.
    const given: unknown = message
    if (given === null || typeof given !== 'object') {
      throw new ValueError("Incoming message has no 'type' attribute")
    }
    const name = handlerName(message.type)
    const handler = name === null ? undefined : (this as unknown as Record<string, unknown>)[name]
    if (typeof handler !== 'function') {
      throw new ValueError(`No handler for message type ${message.type}`)
    }
    const result = (handler as Handler).call(this, message)
    if (this.#queued) {
      if (this.#chain === undefined && !isThenable(result)) return
      return this.#flush(result)
    }
    return isThenable(result) ? (result as Promise<void>) : undefined
  }

  async #flush(result: unknown): Promise<void> {
    if (isThenable(result)) await result
    let chain = this.#chain
    while (chain !== undefined) {
      try {
        await chain
      } finally {
        if (this.#chain === chain) this.#chain = undefined
      }
      chain = this.#chain
    }
  }
}

/** Channels' `SyncConsumer`: handlers are plain functions; their sends are queued in order. */
export class SyncConsumer<
  Types extends ConsumerTypes = ConsumerTypes,
> extends AsyncConsumer<Types> {
  static override syncHandlers = true
}
