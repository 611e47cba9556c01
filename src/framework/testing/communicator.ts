/**
 * `ApplicationCommunicator`: run one application instance in-process and talk to it through an
 * input and an output queue (asgiref's testing helper). Timeouts are milliseconds.
 * @module
 */
import { AsgiProtocolError, CancelledError, ChannelsError } from '../asgi/errors.js'
import type {
  Application,
  AsgiReceiveEvent,
  AsgiSendEvent,
  ChannelMessage,
  Scope,
} from '../asgi/types.js'
import { AsyncConsumer, type ConsumerClass } from '../consumers/consumer.js'
import { AsyncQueue } from './async-queue.js'
import { describeMessage, describeValue } from '../../util/describe.js'

/** A communicator waited longer than its timeout (asyncio's TimeoutError in Channels). */
export class TimeoutError extends ChannelsError {}

/** An application, or a consumer class (served with its `asAsgi()`). */
export type ApplicationLike = Application | ConsumerClass

type Status = 'idle' | 'running' | 'done' | 'failed' | 'cancelled'

// How long a cancelled app gets to unwind (its receive rejects with CancelledError) before the
// communicator stops waiting for it: enough for a consumer to leave its groups, short enough
// not to double a test's timeout.
const CANCEL_GRACE_MS = 100

const RESOLVED = Promise.resolve()

function toApplication(app: ApplicationLike): Application {
  if (typeof app !== 'function') {
    throw new TypeError(
      `Expected an ASGI application or a consumer class, got ${describeValue(app)}`,
    )
  }
  if (app === AsyncConsumer || app.prototype instanceof AsyncConsumer)
    return (app as unknown as typeof AsyncConsumer).asAsgi()
  return app as Application
}

/**
 * Runs `app` for `scope`, lazily on first use. Feed it events with `sendInput`, read what it
 * sends with `receiveOutput`. If the app fails, the next call rethrows its error; a timed-out
 * `receiveOutput` or `wait` cancels it (its `receive()` rejects with CancelledError).
 */
export class ApplicationCommunicator {
  /** The application under test. */
  readonly application: Application
  /** The scope it is called with. */
  readonly scope: Scope

  readonly #input = new AsyncQueue<AsgiReceiveEvent | ChannelMessage>()
  readonly #output = new AsyncQueue<AsgiSendEvent>()
  readonly #settleListeners = new Set<() => void>()
  #status: Status = 'idle'
  #error: unknown
  #cancelRequested = false

  constructor(application: ApplicationLike, scope: Scope) {
    this.application = toApplication(application)
    this.scope = scope
  }

  readonly #receive = (): Promise<AsgiReceiveEvent | ChannelMessage> => {
    if (this.#cancelRequested) {
      return Promise.reject(new CancelledError('The application instance was cancelled'))
    }
    return this.#input.get()
  }

  readonly #send = (message: AsgiSendEvent): Promise<void> => {
    // typeof null is 'object'; the types rule null out, JavaScript apps do not.
    if (
      (message as unknown) === null ||
      typeof message !== 'object' ||
      typeof message.type !== 'string'
    ) {
      return Promise.reject(
        new AsgiProtocolError(
          "Expected an ASGI message object with a string 'type', " +
            `but got ${describeMessage(message)}.`,
        ),
      )
    }
    try {
      if (!this.checkOutput(message)) return RESOLVED
    } catch (error) {
      return Promise.reject(error)
    }
    this.#output.put(message)
    return RESOLVED
  }

  /**
   * Check one event the app sends, as the server would: return false to drop it, throw to refuse
   * it (the app's `send()` rejects). The base communicator takes every event.
   */
  protected checkOutput(_message: AsgiSendEvent): boolean {
    return true
  }

  #start(): void {
    if (this.#status !== 'idle') return
    this.#status = 'running'
    let task: Promise<void>
    try {
      task = Promise.resolve(this.application(this.scope, this.#receive, this.#send))
    } catch (error) {
      task = Promise.reject(error)
    }
    task.then(
      () => this.#settle(false, undefined),
      (error: unknown) => this.#settle(true, error),
    )
  }

  #settle(failed: boolean, error: unknown): void {
    if (this.#status !== 'running') return
    if (this.#cancelRequested && (!failed || error instanceof CancelledError)) {
      this.#status = 'cancelled'
      this.#error = failed ? error : new CancelledError('The application instance was cancelled')
    } else if (failed) {
      this.#status = 'failed'
      this.#error = error
    } else {
      this.#status = 'done'
    }
    for (const listener of [...this.#settleListeners]) listener()
  }

  /** Rethrow the app's failure (or CancelledError) if it has ended; Python's `future.result()`. */
  #raiseIfEnded(): void {
    if (this.#status === 'failed' || this.#status === 'cancelled') throw this.#error
  }

  /** Tell the app to stop: its pending and later `receive()` calls reject with CancelledError. */
  #requestCancel(): void {
    if (this.#status !== 'running' || this.#cancelRequested) return
    this.#cancelRequested = true
    this.#input.failWaiters(new CancelledError('The application instance was cancelled'))
  }

  /** Cancel and give the app a short grace to unwind; then it counts as cancelled regardless. */
  async #cancel(): Promise<void> {
    this.#requestCancel()
    if (this.#status === 'running') await this.#settled(CANCEL_GRACE_MS)
    if (this.#status === 'running') {
      this.#status = 'cancelled'
      this.#error = new CancelledError('The application instance was cancelled')
    }
  }

  /** Resolves true when the app settles within `timeout` ms, false otherwise (timer cleared). */
  #settled(timeout: number): Promise<boolean> {
    if (this.#status !== 'running') return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const onSettle = (): void => {
        clearTimeout(timer)
        this.#settleListeners.delete(onSettle)
        resolve(true)
      }
      const timer = setTimeout(() => {
        this.#settleListeners.delete(onSettle)
        resolve(false)
      }, timeout)
      this.#settleListeners.add(onSettle)
    })
  }

  /** Give the app one event. Rethrows the app's failure if it already ended with one. */
  async sendInput(message: AsgiReceiveEvent | ChannelMessage): Promise<void> {
    this.#start()
    this.#raiseIfEnded()
    this.#input.put(message)
  }

  /**
   * The next event the app sent, waiting up to `timeout` ms. If the app failed, its error is
   * thrown (at once, not at the timeout). On timeout a running app is cancelled and
   * TimeoutError is thrown.
   */
  async receiveOutput(timeout = 1000): Promise<AsgiSendEvent> {
    this.#start()
    this.#raiseIfEnded()
    if (this.#output.size > 0) return this.#output.get()
    const outcome = await new Promise<{ message: AsgiSendEvent } | { error: unknown } | null>(
      (resolve) => {
        const cleanup = (): void => {
          clearTimeout(timer)
          stopTaking()
          this.#settleListeners.delete(onSettle)
        }
        const onSettle = (): void => {
          if (this.#status === 'done') return // a finished app may still have sent nothing
          cleanup()
          resolve({ error: this.#error })
        }
        const timer = setTimeout(() => {
          cleanup()
          resolve(null)
        }, timeout)
        const stopTaking = this.#output.take((message) => {
          cleanup()
          resolve({ message })
        })
        this.#settleListeners.add(onSettle)
      },
    )
    if (outcome !== null) {
      if ('message' in outcome) return outcome.message
      throw outcome.error
    }
    if (this.#status === 'running') {
      await this.#cancel()
      // An app that failed with something else while being cancelled reports that instead.
      if ((this.#status as Status) === 'failed') throw this.#error
    } else {
      this.#raiseIfEnded()
    }
    throw new TimeoutError(`No output from the application within ${timeout} ms`)
  }

  /**
   * True if the app sends nothing within `timeout` ms. Returns false as soon as output arrives
   * (so `interval`, kept for Channels parity, is not needed). Unlike Channels, an app that
   * fails meanwhile makes this throw its error instead of passing.
   */
  async receiveNothing(timeout = 100, _interval = 10): Promise<boolean> {
    this.#start()
    if (this.#output.size > 0) return false
    if (this.#status === 'failed') throw this.#error
    return new Promise<boolean>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer)
        unwatch()
        this.#settleListeners.delete(onSettle)
      }
      const onSettle = (): void => {
        if (this.#status !== 'failed') return
        cleanup()
        reject(this.#error)
      }
      const timer = setTimeout(() => {
        cleanup()
        resolve(this.#output.size === 0)
      }, timeout)
      const unwatch = this.#output.watch(() => {
        cleanup()
        resolve(false)
      })
      this.#settleListeners.add(onSettle)
    })
  }

  /**
   * Wait up to `timeout` ms for the app to finish; rethrows its error. A cancelled app counts as
   * finished. On timeout the app is cancelled and TimeoutError is thrown.
   */
  async wait(timeout = 1000): Promise<void> {
    this.#start()
    if (!(await this.#settled(timeout))) {
      await this.#cancel()
      if (this.#status === 'failed') throw this.#error
      throw new TimeoutError(`The application did not finish within ${timeout} ms`)
    }
    if (this.#status === 'failed') throw this.#error
  }

  /** Cancel the app if it is running; otherwise rethrow its failure when `exceptions` is true. */
  stop(exceptions = true): void {
    if (this.#status === 'running') this.#requestCancel()
    else if (exceptions && this.#status === 'failed') throw this.#error
  }
}
