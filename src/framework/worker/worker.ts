/**
 * Channels' `Worker` (channels/worker.py on asgiref's StatelessServer): runs an application's
 * `channel` scopes for named channels of a channel layer, as `channels runworker` does.
 *
 * - One listener per channel: it takes the channel's next message from the layer and hands it to
 *   the application instance for that channel.
 * - One long-lived instance per channel name, scope `{ type: 'channel', channel }`, so a
 *   channel's messages are handled one at a time, in order.
 * - An instance that raises is logged ("Exception inside application") and a fresh one takes the
 *   next message.
 * - A message without `type` is logged ("Worker received message with no type.") and skipped.
 *   In Channels it kills that channel's listener, and with it the worker.
 * - `send()` is not available: a channel scope has no client. Reply through the layer.
 *
 * Unlike Channels, a listener takes a message from the layer only when its instance waits for
 * one (Channels' listener keeps receiving into an unbounded queue per instance). Messages not yet
 * handled therefore stay in the layer, where capacity applies and other workers may take them,
 * and a stop (`stop()`) has nothing to lose: it cancels the waiting receives (cancel-safe), lets
 * the messages in hand finish within `applicationCloseTimeout`, and ends the instances.
 * @module
 */
import { AsgiProtocolError, CancelledError } from '../asgi/errors.js'
import { getLogger } from '../asgi/logging.js'
import type { AnyApplication, ChannelMessage, ChannelScope, Receive, Send } from '../asgi/types.js'
import type { ChannelLayer } from '../layers/types.js'
import { INVALID_CHANNEL_NAME, requireValidChannelName } from '../layers/validation.js'
import { describeValue } from '../../util/describe.js'

const logger = getLogger('channels.worker')

/** Options for {@link Worker}. */
export interface WorkerOptions {
  /** The application; it is called with `{ type: 'channel', channel }` scopes. */
  application: AnyApplication
  /** The channels to receive on: plain names (no `!`), at least one. */
  channels: readonly string[]
  /** The layer to receive from (one other processes send to: not the in-memory layer). */
  channelLayer: ChannelLayer
  /**
   * Milliseconds `stop()` lets the messages in hand finish before it gives up on their
   * instances (default 10 000, as the server's application close timeout).
   */
  applicationCloseTimeout?: number
}

/** What the application gets for `send`: a worker has no client to send to. */
const NO_SEND =
  "send() is not available to an application run by a worker: a 'channel' scope has no " +
  'client (Channels raises NotImplementedError). Reply through the channel layer instead, ' +
  'e.g. this.channelLayer.send(replyChannel, message).'

/** Runs an application's `channel` scopes for the named channels of a layer. */
export class Worker {
  readonly application: AnyApplication
  readonly channels: readonly string[]
  readonly channelLayer: ChannelLayer
  readonly applicationCloseTimeout: number

  readonly #instances = new Map<string, Instance>()
  /** Aborted by `stop()`: no more messages are taken. */
  readonly #abort = new AbortController()
  /** Aborted `applicationCloseTimeout` after the stop: nothing more is waited for. */
  readonly #kill = new AbortController()
  #killTimer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #failure: { error: unknown } | undefined

  constructor(options: WorkerOptions) {
    const given: unknown = options.channelLayer
    if (given === null || typeof given !== 'object') {
      // Channels: ValueError("Channel layer is not valid").
      throw new TypeError(`Channel layer is not valid: got ${describeValue(given)}`)
    }
    this.channels = workerChannels(options.channels)
    this.application = options.application
    this.channelLayer = options.channelLayer
    this.applicationCloseTimeout = options.applicationCloseTimeout ?? 10_000
  }

  /**
   * Receive and handle messages until `stop()` (or a receive that fails for another reason than
   * the stop, which stops the worker and rejects). Resolves once every instance has ended.
   */
  run(): Promise<void> {
    this.#running ??= this.#run()
    return this.#running
  }

  /**
   * Stop taking messages. The promise of `run()` then resolves once the messages in hand are
   * handled (or `applicationCloseTimeout` passed) and the instances have ended.
   */
  stop(): void {
    if (this.#abort.signal.aborted) return
    this.#abort.abort(new CancelledError('The worker is stopping'))
    this.#killTimer = setTimeout(() => this.#kill.abort(), this.applicationCloseTimeout)
  }

  /** Whether `stop()` was called (or a listener failed). */
  get stopping(): boolean {
    return this.#abort.signal.aborted
  }

  /** `stopping`, read where an await may have changed it (not narrowed by the compiler). */
  #stopped(): boolean {
    return this.#abort.signal.aborted
  }

  /** How many instances are handling a message right now. */
  get busy(): number {
    let count = 0
    for (const instance of this.#instances.values()) if (!instance.idle) count++
    return count
  }

  async #run(): Promise<void> {
    try {
      await Promise.all(
        this.channels.map((channel) =>
          this.#listen(channel).catch((error: unknown) => {
            this.#failure ??= { error }
            logger.error(`Receiving on channel '${channel}' failed; stopping the worker`, error)
            this.stop()
          }),
        ),
      )
      await this.#drain()
    } finally {
      clearTimeout(this.#killTimer)
    }
    if (this.#failure !== undefined) throw this.#failure.error
  }

  /** One channel's listener: receive a message whenever its instance waits for one. */
  async #listen(channel: string): Promise<void> {
    const signal = this.#abort.signal
    while (!this.#stopped()) {
      const current = this.#instances.get(channel)
      if (current !== undefined) {
        await current.whenIdle(signal)
        if (this.#stopped()) break
      }
      let message: unknown
      try {
        message = await this.channelLayer.receive(channel, { signal })
      } catch (error) {
        // The stop cancelled it; an aborted receive keeps its message in the layer.
        if (this.#stopped()) break
        throw error
      }
      // A message the layer gave us is handled even when the stop came meanwhile.
      if (!hasType(message)) {
        logger.error(`Worker received message with no type. Skipped ${whatWasSent(message)}.`)
        continue
      }
      await this.#handOver(channel, message)
    }
  }

  /** Give `message` to the channel's instance, replacing one that ended. */
  async #handOver(channel: string, message: ChannelMessage): Promise<void> {
    const kill = this.#kill.signal
    let instance = this.#instances.get(channel)
    if (instance === undefined || instance.hasEnded) instance = this.#spawn(channel)
    await instance.whenIdle(kill)
    if (instance.take(message)) return
    if (!instance.fresh && !kill.aborted) {
      // It ended after it had asked for this message: a fresh one gets it.
      instance = this.#spawn(channel)
      await instance.whenIdle(kill)
      if (instance.take(message)) return
    }
    const why = kill.aborted
      ? 'the worker stopped before its application asked for it'
      : 'its application ended without receiving it'
    logger.error(`The message '${message.type}' on channel '${channel}' was dropped: ${why}`)
  }

  #spawn(channel: string): Instance {
    const instance = new Instance(this.application, channel, () => {
      if (this.#instances.get(channel) === instance) this.#instances.delete(channel)
    })
    this.#instances.set(channel, instance)
    return instance
  }

  /** Let the instances finish what they hold (bounded), then end them all. */
  async #drain(): Promise<void> {
    const kill = this.#kill.signal
    const instances = [...this.#instances.values()]
    await Promise.all(instances.map((i) => i.whenIdle(kill)))
    for (const instance of instances) {
      if (!instance.idle) {
        logger.warn(
          `Application instance for channel '${instance.channel}' took too long to shut down ` +
            'and was killed.',
        )
      }
      instance.cancel()
    }
    // An idle instance ends as soon as its receive is cancelled; a stuck one is not waited for.
    const ending = instances.filter((i) => i.idle).map((i) => i.finished)
    await Promise.race([Promise.all(ending), untilAborted(kill)])
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}

/**
 * The channel names a worker receives on, checked (valid names, no `!`, at least one; a
 * TypeError otherwise), duplicates dropped.
 */
export function workerChannels(channels: readonly string[]): string[] {
  const given: unknown = channels
  if (!Array.isArray(given) || given.length === 0) {
    throw new TypeError('A worker needs at least one channel name')
  }
  for (const name of given as unknown[]) {
    try {
      requireValidChannelName(name)
    } catch {
      const shown = typeof name === 'string' ? `'${name}'` : describeValue(name)
      throw new TypeError(`Invalid channel name ${shown}: ${INVALID_CHANNEL_NAME}`)
    }
    if (name.includes('!')) {
      throw new TypeError(
        `Invalid channel name '${name}': a name with '!' is a process-specific channel ` +
          '(what newChannel() makes), which only the process that made it receives on',
      )
    }
  }
  return [...new Set(given as string[])]
}

function hasType(message: unknown): message is ChannelMessage {
  if (message === null || typeof message !== 'object') return false
  const type = (message as { type?: unknown }).type
  return typeof type === 'string' && type !== ''
}

/** The keys of a message without a type (not the values: they may be large or secret). */
function whatWasSent(message: unknown): string {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    return describeValue(message)
  }
  const keys = Object.keys(message).map((key) => `'${key}'`)
  return keys.length === 0 ? 'an empty message' : `a message with keys ${keys.join(', ')}`
}

/** One application instance: its receive queue of one, and how it ended. */
class Instance {
  /** The receive() calls waiting for a message, oldest first. */
  readonly #waiting: {
    resolve: (message: ChannelMessage) => void
    reject: (e: unknown) => void
  }[] = []
  /** Who waits for this instance to wait for a message (or end). */
  #idleWaiters: (() => void)[] = []
  #cancelled = false
  #ended = false
  /** It has not been given a message yet. */
  fresh = true
  /** Settles when the application returns or raises (never rejects). */
  readonly finished: Promise<void>

  constructor(
    application: AnyApplication,
    readonly channel: string,
    onEnd: () => void,
  ) {
    const scope: ChannelScope = { type: 'channel', channel }
    const receive: Receive<ChannelMessage> = () => this.#receive()
    const send: Send = () => Promise.reject(new AsgiProtocolError(NO_SEND))
    let running: Promise<void>
    try {
      running = Promise.resolve(application(scope, receive as Receive, send))
    } catch (error) {
      running = Promise.reject(error)
    }
    this.finished = running.then(
      () => this.#end(onEnd),
      (error: unknown) => {
        // A cancelled instance rethrowing CancelledError ended as asked.
        if (!(this.#cancelled && error instanceof CancelledError)) {
          logger.error(
            `Exception inside application: ${error instanceof Error ? error.message : String(error)}`,
            error,
          )
        }
        this.#end(onEnd)
      },
    )
  }

  /** The application returned or raised. */
  get hasEnded(): boolean {
    return this.#ended
  }

  /** It waits for a message, or has ended: nothing of ours is being handled. */
  get idle(): boolean {
    return this.#ended || this.#waiting.length > 0
  }

  /** Resolves once idle, or when `signal` aborts. */
  whenIdle(signal?: AbortSignal): Promise<void> {
    if (this.idle || signal?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done)
        resolve()
      }
      this.#idleWaiters.push(done)
      signal?.addEventListener('abort', done, { once: true })
    })
  }

  /** Hand `message` to the oldest waiting receive; false when the instance has ended. */
  take(message: ChannelMessage): boolean {
    const waiter = this.#ended ? undefined : this.#waiting.shift()
    if (waiter === undefined) return false
    this.fresh = false
    waiter.resolve(message)
    return true
  }

  /** End the instance: its waiting and later receives reject with CancelledError. */
  cancel(): void {
    this.#cancelled = true
    const error = new CancelledError('The worker stopped')
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error)
  }

  #receive(): Promise<ChannelMessage> {
    if (this.#cancelled) return Promise.reject(new CancelledError('The worker stopped'))
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject })
      this.#wakeIdleWaiters()
    })
  }

  #end(onEnd: () => void): void {
    this.#ended = true
    // Receives it left pending are never settled: nobody may be listening to them any more.
    this.#waiting.length = 0
    onEnd()
    this.#wakeIdleWaiters()
  }

  #wakeIdleWaiters(): void {
    for (const wake of this.#idleWaiters.splice(0)) wake()
  }
}
