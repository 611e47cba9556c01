/**
 * What every connection the server tracks has in common: one application instance, its receive
 * queue, connected/disconnected times, and the reaction to the app's promise settling (Daphne's
 * `application_checker`, but event-driven: no polling loop).
 *
 * Memory: an idle WebSocket keeps one connection object for its whole life, and every object an
 * idle connection keeps costs GC time on every handshake after it. So per-connection state is
 * kept small: the connection is also its app's receive queue (it extends ReceiveQueue), the
 * app-facing `send` and the app promise's reactions are bound methods, not arrow functions (no
 * context object each), and times are `clock()` values, small integers (Smis) for the first
 * 2^30 ms (about 12.4 days) of uptime where `Date.now()` values would each be a heap number.
 * @module
 */
import { CancelledError, RouteNotFound } from '../framework/asgi/errors.js'
import { CONNECTION_NOTES, type ConnectionNotes } from '../framework/asgi/inspection.js'
import { getLogger } from '../framework/asgi/logging.js'
import type { Application, AsgiInfo, Scope } from '../framework/asgi/types.js'
import type { AccessEvent } from './access-log.js'
import type { ResolvedServerConfig } from './config.js'
import type { ConnectionEntry } from './inspection.js'
import type { SharedScopeParts } from './request.js'
import { ReceiveQueue, type CompletionOwner } from './receive-queue.js'
import type { SendBudget } from './send-budget.js'

/** The server's logger. */
export const log = getLogger('channels.server')

/**
 * The `asgi` key of every connection scope: one frozen object shared by all of them (a scope
 * per idle connection is memory we keep).
 */
export const ASGI_INFO: AsgiInfo = Object.freeze({ version: '3.0', spec_version: '2.3' })

// One ms back, so clock() is never 0 (0 means "not yet" in the timestamp fields).
const EPOCH = Date.now() - 1

/** Milliseconds since the server module loaded (≥ 1): the clock of connection timestamps. */
export function clock(): number {
  const t = Date.now() - EPOCH
  // `| 0` makes it an integer that fields store unboxed: below 2^30 it is a Smi on every V8
  // build (31-bit Smis with pointer compression). Past 2^30 ms, about 12.4 days of uptime, the
  // value is left as it is: correct, just boxed (and `| 0` would wrap past 2^31).
  return t < 0x40000000 ? t | 0 : t
}

const APP_DONE = 1
const RELEASED = 2
/** Served by an application the server mounted (the dashboard): not the project's traffic. */
const OWN = 4
/** The first bit of `AppConnection.flags` free for subclasses (the flags replace booleans). */
export const FIRST_PROTOCOL_FLAG = 8

let lastId = 0

/** What a connection needs from the server that owns it. */
export interface ServerContext {
  readonly config: ResolvedServerConfig
  /** Lifespan `state`, copied (shallowly) into each new scope; null when lifespan did not run. */
  readonly lifespanState: Record<string, unknown> | null
  /** True once `stop()` began. */
  readonly stopping: boolean
  /** Bytes queued to slow WebSocket clients, process-wide (`websocketBufferBudget`). */
  readonly sendBudget: SendBudget
  /** What this server's scopes share (addresses, paths). */
  readonly scopeParts: SharedScopeParts
  /** Connections keep their scope for `inspect()` (see `Server.retainScopes`). */
  readonly keepScopes: boolean
  /** Scopes carry the connection-notes extension (see `Server.noteConnections`). */
  readonly keepNotes: boolean
  /** Emit an access event. */
  emit(event: AccessEvent): void
  /** Forget a connection: its client is gone and its app has finished (or was killed). */
  release(connection: TrackedConnection): void
}

/** The server's view of a connection in its table. */
export interface TrackedConnection {
  /** Index in the server's table (-1 when not in it); the server's bookkeeping. */
  slot: number
  /** Unique in this process (the dashboard closes connections by it). */
  readonly id: number
  /** Served by a mounted application (`Server.mount`): left out of `Server.inspect()`. */
  readonly own: boolean
  /** WebSocket messages received and sent (0 for HTTP). */
  readonly messagesIn: number
  readonly messagesOut: number
  readonly appPromise: Promise<void> | null
  /** What it is now, for `Server.inspect()`; `now` is `clock()`. */
  inspect(now: number): ConnectionEntry
  /** Close it as the server (the dashboard's close button); false when it cannot be closed. */
  closeByServer(code: number, reason: string): boolean
  label(): string
  sweep(now: number): void
  shutdown(): void
  kill(): void
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error)
}

/** One tracked connection (an HTTP request or a WebSocket) and its application instance. */
export abstract class AppConnection<In = unknown>
  extends ReceiveQueue<In>
  implements TrackedConnection, CompletionOwner
{
  readonly connectedAt = clock()
  readonly id = ++lastId
  messagesIn = 0
  messagesOut = 0
  /**
   * The scope the app got, kept for `inspect()` only when the server retains scopes: middleware
   * copies it, and the original is otherwise garbage once the copies are made.
   */
  protected scope: Scope | null = null
  /** What middleware noted about the connection, when the server asks for notes. */
  protected notes: ConnectionNotes | null = null
  /** When the client left or the response finished; 0 while connected. Set once (channels#1181). */
  disconnectedAt = 0
  /** Flag bits; subclasses use FIRST_PROTOCOL_FLAG and up. */
  protected flags = 0
  slot = -1
  /** The app's promise, for graceful shutdown. */
  appPromise: Promise<void> | null = null
  /** The app-facing `send`, bound once per connection. */
  readonly send: (message: unknown) => Promise<void>

  constructor(protected readonly ctx: ServerContext) {
    super()
    this.send = this.handleSend.bind(this)
  }

  /**
   * The app instance's receive queue: the connection itself (one object per connection, not
   * two; an idle WebSocket keeps it for its whole life).
   */
  get queue(): ReceiveQueue<In> {
    return this
  }

  /** The connection as logs name it: e.g. `GET /x` or `WebSocket /ws/`. */
  abstract label(): string
  /** Handle one app → server event; throws (synchronously is fine) on misuse. */
  protected abstract handleSend(message: unknown): Promise<void>
  /** The app raised; the connection answers (500 page, close 1011, abort). */
  protected abstract onAppError(error: unknown): void
  /** The outermost router found no route (HTTP 404, WebSocket 403). */
  protected abstract onRouteNotFound(): void
  /** The app returned normally. */
  protected abstract onAppReturn(): void
  /** Periodic housekeeping (timeouts, pings); `now` is `clock()`. */
  protected abstract check(now: number): void
  abstract inspect(now: number): ConnectionEntry
  abstract closeByServer(code: number, reason: string): boolean
  /** Graceful shutdown: ask the client to leave (close 1001, 503 …). */
  abstract shutdown(): void

  /**
   * Run the application instance; its settlement is handled once, here. A consumer that claims
   * its completion through the receive queue (and whose promise comes back unwrapped) reports its
   * end to `appCompleted`; any other app's promise gets a reaction.
   */
  protected run(app: Application, scope: Scope): void {
    if (this.ctx.lifespanState !== null) scope.state = { ...this.ctx.lifespanState }
    if (this.ctx.keepScopes) this.scope = scope
    if (this.ctx.keepNotes) {
      this.notes = {}
      const extensions = scope.extensions as Record<string, unknown> | undefined
      scope.extensions = { ...extensions, [CONNECTION_NOTES]: this.notes }
    }
    const queue = this.queue
    queue.openClaims(this)
    let promise: Promise<void>
    try {
      promise = Promise.resolve(app(scope, queue.receive as never, this.send as never))
    } catch (error) {
      promise = Promise.reject(error)
    }
    if (queue.adopt(promise)) {
      this.appPromise = promise
      return
    }
    this.appPromise = promise.then(this.onAppFulfilled.bind(this), this.onAppRejected.bind(this))
  }

  /** CompletionOwner: the adopted app instance ended (null, or what it failed with). */
  appCompleted(error: unknown): void {
    this.settle(error)
  }

  private onAppFulfilled(): void {
    this.settle(null)
  }

  private onAppRejected(error: unknown): void {
    this.settle(error ?? new Error('Application rejected without a reason'))
  }

  get own(): boolean {
    return (this.flags & OWN) !== 0
  }

  /** Mark it as served by a mounted application (see `own`). */
  markOwn(): void {
    this.flags |= OWN
  }

  /** True once the application instance returned or raised. */
  get appDone(): boolean {
    return (this.flags & APP_DONE) !== 0
  }

  private settle(error: unknown): void {
    this.flags |= APP_DONE
    try {
      if (error instanceof RouteNotFound) {
        // The client asked for a path nothing serves: its mistake, not an application crash
        // (Daphne answers 500 here). Logged without a stack; answered 404 / 403.
        log.warn(`Not Found: ${this.label()}: ${errorMessage(error)}`)
        if (!this.queue.isCancelled) this.onRouteNotFound()
      } else if (error !== null && !(error instanceof CancelledError)) {
        // A cancelled app rethrowing CancelledError is a normal end (Daphne ignores it too).
        log.error(`Exception inside application: ${errorMessage(error)}`, error)
        if (!this.queue.isCancelled) this.onAppError(error)
      } else if (!this.queue.isCancelled) {
        this.onAppReturn()
      }
    } catch (failure) {
      log.error(`Server error while finishing ${this.label()}: ${errorMessage(failure)}`, failure)
    }
    if (this.disconnectedAt !== 0) this.release()
  }

  /** The client is gone (or the response finished): start the application close timeout. */
  protected markDisconnected(): void {
    if (this.disconnectedAt !== 0) return
    this.disconnectedAt = clock()
    if (this.appDone) this.release()
  }

  /** Cancel the app instance: its pending and later receives reject with CancelledError. */
  kill(): void {
    this.queue.cancel()
    this.release()
  }

  /** Housekeeping entry point: the app close timeout, then the protocol's own checks. */
  sweep(now: number): void {
    if (this.disconnectedAt !== 0) {
      if (!this.appDone && now - this.disconnectedAt > this.ctx.config.applicationCloseTimeout) {
        log.warn(
          `Application instance for connection ${this.label()} took too long to shut down ` +
            'and was killed.',
        )
        this.kill()
      }
      return
    }
    this.check(now)
  }

  private release(): void {
    if ((this.flags & RELEASED) !== 0) return
    this.flags |= RELEASED
    this.ctx.release(this)
  }
}

/** `message.type`, or `''` when the message is not an object with a string `type`. */
export function messageType(message: unknown): string {
  const type =
    message !== null && typeof message === 'object'
      ? (message as { type?: unknown }).type
      : undefined
  return typeof type === 'string' ? type : ''
}
