/**
 * The ASGI protocol server: owns the reactor, the listeners, the connection table and every
 * application instance's lifecycle (Daphne's `Server`). One housekeeping sweep per server (an
 * unref'd interval, like Daphne's timeout checker) handles pings, idle and HTTP timeouts and the
 * application close timeout; there are no per-connection timers.
 * @module
 */
import type { Application } from '../framework/asgi/types.js'
import { parseEndpoint } from './endpoints/parse.js'
import type { Endpoint } from './endpoints/types.js'
import type {
  BoundAddress,
  HttpResponder,
  Listener,
  Reactor,
  ReactorHandlers,
  ReactorName,
  ReactorRequest,
  UpgradeResponder,
} from './reactor/types.js'
import type { AccessEvent } from './access-log.js'
import {
  resolveServerConfig,
  sweepInterval,
  type ResolvedServerConfig,
  type ServerOptions,
} from './config.js'
import { SlotList } from '../util/slot-list.js'
import { clock, log, type ServerContext, type TrackedConnection } from './connection.js'
import { errorPage } from './error-page.js'
import type { ConnectionEntry, ServerInspection } from './inspection.js'
import { Lifespan } from './lifespan.js'
import { HttpConnection } from './protocols/http.js'
import { WebSocketConnection } from './protocols/websocket.js'
import { checkRequest, SharedScopeParts } from './request.js'
import { SendBudget } from './send-budget.js'
import { reactorLimits, reactorWarnings } from './reactor-limits.js'

/** One endpoint the server listens on, with the address it really bound. */
export interface ListenerInfo {
  endpoint: Endpoint
  address: BoundAddress
}

/** What `start()` reports: the reactor it runs on and where it listens. */
export interface StartResult {
  reactor: ReactorName
  /** What the reactor really loaded, e.g. `uWebSockets.js 20.30.0 (native)`. */
  engine: string
  /** Set when `auto` fell back to another reactor. */
  warning?: string
  listeners: ListenerInfo[]
}

/** A running (or startable) ASGI server. */
export interface Server {
  /** Start lifespan, then listen on every endpoint. Rejects (and closes what opened) on failure. */
  start(): Promise<StartResult>
  /** Graceful stop: stop accepting, close WebSockets with 1001, drain apps, lifespan shutdown. */
  stop(): Promise<void>
  /** Resolves when the server has stopped (after `stop()`, or a signal when `signalHandlers`). */
  readonly closed: Promise<void>
  /** The app new connections use; open connections keep the one they started with. */
  application: Application
  /** Tracked connections (in-flight HTTP requests, WebSockets, apps still finishing). */
  readonly connectionCount: number
  readonly config: ResolvedServerConfig
  /**
   * Serve `app` for every request under `prefix` (`/_channels`: the path itself and everything
   * below it), ahead of `application`, which never sees them. For the server's own pages, such
   * as the dashboard.
   */
  mount(prefix: string, app: Application): void
  /**
   * The connections and counters, as plain data (for the dashboard; built when called).
   * `connections: false` leaves the list empty: the counters alone, allocating nothing per
   * connection.
   */
  inspect(options?: { connections?: boolean }): ServerInspection
  /**
   * Close the connection with this id (from `inspect()`) as the server: a WebSocket gets a close
   * frame (403 while its handshake is undecided). False when there is no such connection or it
   * cannot be closed (an HTTP request, a socket already closing).
   */
  closeConnection(id: number, code?: number, reason?: string): boolean
  /**
   * From now on, each new connection keeps the scope the server built for it, for `inspect()`
   * (the dashboard's `describe` hook reads it). Off by default: middleware copies the scope, and
   * the original would be memory an idle connection otherwise does not keep.
   */
  retainScopes(): void
  /**
   * From now on, each new connection's scope carries the ASGI extension `CONNECTION_NOTES`
   * (framework/asgi/inspection.ts), a record middleware fills (AuthMiddleware: the user), read
   * back in `inspect()`. Off by default (two small objects per connection); the inspector turns
   * it on at its first snapshot.
   */
  noteConnections(): void
}

/** Largest incoming message the reactor accepts when the app limit is 0 (unlimited). */
const UNLIMITED_PAYLOAD = 512 * 1024 * 1024
/** The least the reactor's ceiling exceeds the app limit by (see `payloadCeiling`). */
const OVERSIZE_MARGIN = 1024 * 1024

/**
 * The reactor's ceiling for one incoming message. A message over the app limit but under this
 * reaches the server, which closes with 1009; at its own ceiling uWS ends the TCP connection
 * without a close frame. The margin is memory a client can make us hold (uWS buffers a message
 * whole before handing it over), so it is the limit again, at least 1 MiB, not unbounded.
 */
function payloadCeiling(limit: number): number {
  return limit === 0 ? UNLIMITED_PAYLOAD : limit + Math.max(limit, OVERSIZE_MARGIN)
}
/** The signals that stop a server gracefully when `signalHandlers` is on. */
const HANDLED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']

/** Build a server for `application` on `endpoints` (Endpoint objects or strports strings). */
export function createServer(
  application: Application,
  endpoints: readonly (Endpoint | string)[],
  options: ServerOptions = {},
): Server {
  return new AsgiServer(application, endpoints, options)
}

class AsgiServer implements Server, ServerContext {
  readonly config: ResolvedServerConfig
  application: Application
  lifespanState: Record<string, unknown> | null = null
  stopping = false
  keepScopes = false
  keepNotes = false
  readonly sendBudget: SendBudget
  readonly scopeParts = new SharedScopeParts()
  readonly closed: Promise<void>
  private resolveClosed!: () => void
  private readonly endpoints: Endpoint[]
  private readonly connections = new SlotList<TrackedConnection>()
  private reactor: Reactor | null = null
  private listeners: Listener[] = []
  private lifespan: Lifespan | null = null
  private sweeper: NodeJS.Timeout | null = null
  private unsubscribeSignals: (() => void) | null = null
  private starting: Promise<StartResult> | null = null
  private stopped: Promise<void> | null = null
  private drained: (() => void) | null = null
  private readonly handlers: ReactorHandlers
  /** Prefix → application, checked before `application` (null: nothing mounted, no check). */
  private mounts: [string, Application][] | null = null
  private readonly openedCounts = { http: 0, websocket: 0 }
  private readonly closedCounts = { http: 0, websocket: 0 }
  /** Messages of connections that left the table. */
  private closedIn = 0
  private closedOut = 0

  constructor(
    application: Application,
    endpoints: readonly (Endpoint | string)[],
    options: ServerOptions,
  ) {
    if (typeof application !== 'function')
      throw new TypeError('createServer() needs an ASGI application function')
    this.application = application
    this.config = resolveServerConfig(options)
    this.sendBudget = new SendBudget(this.config.websocketBufferBudget)
    this.endpoints = endpoints.map((e) => (typeof e === 'string' ? parseEndpoint(e) : e))
    if (this.endpoints.length === 0)
      throw new TypeError('No endpoints. This server will not listen on anything.')
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve
    })
    this.handlers = {
      onRequest: (request, response) => this.onRequest(request, response),
      onUpgrade: (request, subprotocols, upgrade) => this.onUpgrade(request, subprotocols, upgrade),
    }
  }

  get connectionCount(): number {
    return this.connections.size
  }

  retainScopes(): void {
    this.keepScopes = true
  }

  noteConnections(): void {
    this.keepNotes = true
  }

  mount(prefix: string, app: Application): void {
    if (!prefix.startsWith('/') || prefix.endsWith('/'))
      throw new TypeError(`A mount prefix starts with '/' and does not end with it: '${prefix}'`)
    if (typeof app !== 'function') throw new TypeError('mount() needs an ASGI application')
    ;(this.mounts ??= []).push([prefix, app])
  }

  inspect({ connections: list = true }: { connections?: boolean } = {}): ServerInspection {
    const now = clock()
    let messagesIn = this.closedIn
    let messagesOut = this.closedOut
    const connections: ConnectionEntry[] = []
    this.connections.forEachRemovable((connection) => {
      if (connection.own) return
      messagesIn += connection.messagesIn
      messagesOut += connection.messagesOut
      if (list) connections.push(connection.inspect(now))
    })
    return {
      connections,
      opened: { ...this.openedCounts },
      closed: { ...this.closedCounts },
      messagesIn,
      messagesOut,
    }
  }

  closeConnection(id: number, code = 1000, reason = ''): boolean {
    for (const connection of this.connections.toArray()) {
      if (connection.id === id && !connection.own) return connection.closeByServer(code, reason)
    }
    return false
  }

  /** The application for a request target: a mounted one, else the project's. */
  private applicationFor(target: string): Application {
    const mounts = this.mounts
    if (mounts === null) return this.application
    for (const [prefix, app] of mounts) {
      if (!target.startsWith(prefix)) continue
      const next = target.charCodeAt(prefix.length)
      // The prefix itself, or followed by '/' or '?': `/_channelsx` is the project's.
      if (Number.isNaN(next) || next === 47 || next === 63) return app
    }
    return this.application
  }

  start(): Promise<StartResult> {
    this.starting ??= this.doStart()
    return this.starting
  }

  private async doStart(): Promise<StartResult> {
    const limit = this.config.websocketMaxMessageSize
    // Lazy: importing the server must not load uWebSockets.js.
    let created: Awaited<ReturnType<typeof import('./reactor/index.js').createReactor>>
    try {
      const { createReactor } = await import('./reactor/index.js')
      created = await createReactor(this.config.reactor, {
        maxPayloadLength: payloadCeiling(limit),
        maxBackpressure: this.config.websocketMaxBufferedBytes,
        closeTimeout: this.config.websocketCloseTimeout,
        exclusive: this.config.exclusive,
        ...reactorLimits(this.config),
      })
    } catch (error) {
      this.resolveClosed()
      throw error
    }
    const { reactor, warning } = created
    this.reactor = reactor
    this.lifespan = new Lifespan(
      this.application,
      this.config.lifespan,
      this.config.applicationCloseTimeout,
    )
    try {
      await this.lifespan.startup()
      this.lifespanState = this.lifespan.state
      for (const endpoint of this.endpoints) {
        try {
          this.listeners.push(await reactor.listen(endpoint, this.handlers))
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error)
          throw new Error(
            message.startsWith('Listen failure') ? message : `Listen failure: ${message}`,
            { cause: error },
          )
        }
      }
    } catch (error) {
      await Promise.allSettled(this.listeners.map((listener) => listener.close()))
      this.listeners = []
      await reactor.stop().catch(() => undefined)
      await this.lifespan.shutdown()
      this.resolveClosed()
      throw error
    }
    this.sweeper = setInterval(() => this.sweep(), sweepInterval(this.config))
    this.sweeper.unref()
    if (this.config.signalHandlers) {
      this.unsubscribeSignals = reactor.onSignal(HANDLED_SIGNALS, (signal) => {
        log.info(`Received ${signal}, shutting down`)
        void this.stop()
      })
    }
    for (const message of reactorWarnings(reactor.name, this.config, this.endpoints)) {
      log.warn(message)
    }
    const result: StartResult = {
      reactor: reactor.name,
      engine: reactor.engine,
      listeners: this.listeners.map((listener) => ({
        endpoint: listener.endpoint,
        address: listener.address,
      })),
    }
    if (warning !== undefined) result.warning = warning
    return result
  }

  stop(): Promise<void> {
    this.stopped ??= this.doStop()
    return this.stopped
  }

  private async doStop(): Promise<void> {
    this.stopping = true
    if (this.starting !== null) await this.starting.catch(() => undefined)
    this.unsubscribeSignals?.()
    // Not awaited yet: a reactor may only finish closing a listener once its connections ended.
    const closing = Promise.allSettled(this.listeners.map((listener) => listener.close()))
    for (const connection of this.connections.toArray()) connection.shutdown()
    if (this.connections.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.drained = resolve
        timer = setTimeout(resolve, this.config.applicationCloseTimeout)
      })
      clearTimeout(timer)
      this.drained = null
    }
    if (this.connections.size > 0) {
      const remaining = this.connections.toArray()
      for (const connection of remaining) connection.kill()
      log.info(`Killed ${remaining.length} pending application instances`)
      // Give cancelled apps a moment to see their CancelledError and unwind.
      await Promise.race([
        Promise.allSettled(remaining.flatMap((c) => c.appPromise ?? [])),
        new Promise((resolve) => setTimeout(resolve, 50)),
      ])
    }
    if (this.sweeper !== null) clearInterval(this.sweeper)
    this.sweeper = null
    await this.reactor?.stop()
    await closing
    await this.lifespan?.shutdown()
    this.resolveClosed()
  }

  // ---- ServerContext ------------------------------------------------------------------------

  emit(event: AccessEvent): void {
    const onAction = this.config.onAction
    if (onAction === null) return
    try {
      onAction(event)
    } catch (error) {
      log.error('Error in the onAction access-log callback', error)
    }
  }

  release(connection: TrackedConnection): void {
    if (!this.connections.delete(connection)) return
    if (connection.own) {
      if (this.connections.size === 0) this.drained?.()
      return
    }
    if (connection instanceof WebSocketConnection) this.closedCounts.websocket++
    else this.closedCounts.http++
    this.closedIn += connection.messagesIn
    this.closedOut += connection.messagesOut
    if (this.connections.size === 0) this.drained?.()
  }

  // ---- reactor handlers ---------------------------------------------------------------------

  private onRequest(request: ReactorRequest, response: HttpResponder): void {
    try {
      const problem = checkRequest(request)
      if (problem !== null) return this.badRequest(problem, request, response)
      const app = this.applicationFor(request.url)
      const connection = new HttpConnection(this, request, response, app)
      this.connections.add(connection)
      if (app !== this.application) connection.markOwn()
      else this.openedCounts.http++
    } catch (error) {
      log.error(`Server error while handling ${request.method} ${request.url}`, error)
      try {
        const page = errorPage(500, 'channels-ts HTTP processing error', this.config.serverName)
        response.writeHead(page.head)
        response.end(page.body)
      } catch {
        response.abort()
      }
    }
  }

  private onUpgrade(
    request: ReactorRequest,
    subprotocols: string[],
    upgrade: UpgradeResponder,
  ): void {
    let connection: WebSocketConnection
    try {
      const problem = checkRequest(request)
      if (problem !== null) {
        const page = errorPage(400, problem, this.config.serverName)
        upgrade.reject(page.head, page.body)
        return
      }
      if (this.stopping) {
        const page = errorPage(503, 'The server is shutting down.', this.config.serverName)
        upgrade.reject(page.head, page.body)
        return
      }
      const app = this.applicationFor(request.url)
      connection = new WebSocketConnection(this, request, subprotocols, upgrade, app)
      this.connections.add(connection)
      if (app !== this.application) connection.markOwn()
      else this.openedCounts.websocket++
    } catch (error) {
      log.error(`Server error while handling WebSocket ${request.url}`, error)
      upgrade.reject({ status: 500, reason: 'Internal server error', headers: [] })
      return
    }
    try {
      // websocket.connect now, not in a microtask: a consumer that accepts without awaiting
      // anything is upgraded inside this reactor callback, as raw uWS upgrades (no deferred
      // upgrade to keep: no abort handler, no cork callback).
      connection.queue.handOverNow()
    } catch (error) {
      // Sinks do not throw; should one, the app instance is running and handles its own end.
      log.error(`Server error while handling WebSocket ${request.url}`, error)
    }
    connection.watchUpgrade()
  }

  /** Daphne's pre-checks: a 400 page, logged with an unknown client (as Daphne prints `None`). */
  private badRequest(problem: string, request: ReactorRequest, response: HttpResponder): void {
    const page = errorPage(400, problem, this.config.serverName)
    response.onAborted(() => undefined)
    response.cork(() => {
      response.writeHead(page.head)
      response.end(page.body)
    })
    if (this.config.onAction === null) return
    this.emit({
      protocol: 'http',
      action: 'complete',
      method: request.method,
      path: request.url,
      status: 400,
      size: page.body.byteLength,
      client: null,
      durationMs: 0,
      time: new Date(),
    })
  }

  private sweep(): void {
    const now = clock()
    this.connections.forEachRemovable((connection) => {
      try {
        connection.sweep(now)
      } catch (error) {
        log.error(`Server error during housekeeping of ${connection.label()}`, error)
      }
    })
  }
}
