/**
 * Server options in, one resolved and frozen config out (vite's `ServerOptions` →
 * `ResolvedServerOptions`). Every time value is in milliseconds; the CLI converts Daphne's seconds.
 * @module
 */
import type { AccessEvent } from './access-log.js'

/** Which reactor to run on: `auto` tries uWebSockets.js and falls back to node:http + ws. */
export type ReactorChoice = 'auto' | 'uws' | 'node'

/** Header names trusted for the real client when running behind a proxy. */
export interface ProxyHeaderNames {
  /** Client address header; default `X-Forwarded-For` (Daphne's `--proxy-headers-host`). */
  address?: string
  /** Client port header; default `X-Forwarded-Port` (Daphne's `--proxy-headers-port`). */
  port?: string
  /** Scheme header; default `X-Forwarded-Proto`. */
  proto?: string
}

/** Everything a server can be told; all optional (defaults follow Daphne's `Server()`). */
export interface ServerOptions {
  reactor?: ReactorChoice
  /** An HTTP request not answered within this gets a 503 page; null (default) = never. */
  httpTimeout?: number | null
  /** Maximum WebSocket lifetime, then close 1000; default 1 day, null or negative = never. */
  websocketTimeout?: number | null
  /** Daphne's own connect check (default 20 s); the effective limit is the smaller of this and the handshake timeout. */
  websocketConnectTimeout?: number
  /** An app that neither accepts nor closes within this is rejected with 403 (default 5 s). */
  websocketHandshakeTimeout?: number
  /** Incoming silence after which the server pings (default 20 s). */
  pingInterval?: number
  /** No traffic this long after a ping ends the connection, 1006 (default 30 s). */
  pingTimeout?: number
  /** How long an app may run on after its client left before it is cancelled (default 10 s). */
  applicationCloseTimeout?: number
  /** Largest incoming WebSocket message in bytes (default 1 MiB); bigger ones get close 1009. 0 = unlimited. */
  websocketMaxMessageSize?: number
  /**
   * Outgoing bytes queued for one WebSocket client (one that reads slower than it is sent to)
   * past which it is closed with 1008 (default 8 MiB). 0 = unlimited.
   */
  websocketMaxBufferedBytes?: number
  /**
   * Outgoing bytes queued for all WebSocket clients together past which the one holding the
   * most is closed with 1008, and so on (default 256 MiB). 0 = unlimited.
   */
  websocketBufferBudget?: number
  /**
   * How long a WebSocket being closed may go without its client reading what is still queued
   * (or answering the close) before it is cut off (default 5 s).
   */
  websocketCloseTimeout?: number
  /** The scope's `root_path` (default ''). */
  rootPath?: string
  /** Trust proxy headers for client address/port/scheme: true for the X-Forwarded-* names. */
  proxyHeaders?: boolean | ProxyHeaderNames
  /** The `Server` response header (default 'channels-ts'); '' sends none. */
  serverName?: string
  /** ASGI lifespan: 'auto' (default) runs it if the app supports it, 'on' requires it, 'off' skips it. */
  lifespan?: 'auto' | 'on' | 'off'
  /** Stop gracefully on SIGINT/SIGTERM (default false; the CLI turns it on). */
  signalHandlers?: boolean
  /**
   * Refuse a TCP port another socket already listens on (default true). False is for the workers
   * of one supervisor sharing a port (`channels serve --workers N`): uWS listens with
   * SO_REUSEPORT, node shares its cluster primary's socket.
   */
  exclusive?: boolean
  /**
   * node reactor: a client that has not sent a whole request head within this gets 408 and is
   * disconnected (default 10 s; null = never). uWS has its own fixed ~10 s.
   */
  headersTimeout?: number | null
  /**
   * node reactor: a client that has not sent a whole request, body included, within this gets
   * 408 and is disconnected (default 60 s; null = never). uWS instead drops a body arriving
   * slower than 16 KiB per ~10 s.
   */
  requestTimeout?: number | null
  /** node reactor: how long an idle keep-alive connection stays open (default 5 s; uWS ~10 s). */
  keepAliveTimeout?: number
  /** node reactor: most open connections per listener; more are closed at once (default: none). */
  maxConnections?: number | null
  /** Receives every access event (HTTP complete, WebSocket connecting/connected/rejected/disconnected). */
  onAction?: (event: AccessEvent) => void
}

/** The resolved proxy header names, lower-cased, or null when proxy headers are off. */
export interface ResolvedProxyHeaders {
  readonly address: string
  readonly port: string
  readonly proto: string
}

/** Every option filled in. Timeouts that never fire are `null`. */
export interface ResolvedServerConfig {
  readonly reactor: ReactorChoice
  readonly httpTimeout: number | null
  readonly websocketTimeout: number | null
  readonly websocketConnectTimeout: number
  readonly websocketHandshakeTimeout: number
  readonly pingInterval: number
  readonly pingTimeout: number
  readonly applicationCloseTimeout: number
  /** 0 = unlimited. */
  readonly websocketMaxMessageSize: number
  /** 0 = unlimited. */
  readonly websocketMaxBufferedBytes: number
  /** 0 = unlimited. */
  readonly websocketBufferBudget: number
  readonly websocketCloseTimeout: number
  readonly rootPath: string
  readonly proxyHeaders: ResolvedProxyHeaders | null
  readonly serverName: string
  readonly lifespan: 'auto' | 'on' | 'off'
  readonly signalHandlers: boolean
  readonly exclusive: boolean
  readonly headersTimeout: number | null
  readonly requestTimeout: number | null
  readonly keepAliveTimeout: number
  readonly maxConnections: number | null
  readonly onAction: ((event: AccessEvent) => void) | null
}

/** 1 MiB: Daphne's `websocket_max_message_size` default (CVE-2026-44545). */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
/** What one slow WebSocket client may hold queued before it is closed. */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024
/** What all slow WebSocket clients together may hold queued. */
export const DEFAULT_BUFFER_BUDGET = 256 * 1024 * 1024

function duration(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(
      `Server option ${name} must be a non-negative number of milliseconds, got ${String(value)}`,
    )
  }
  return value
}

function byteCount(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(
      `Server option ${name} must be a non-negative whole number of bytes, got ${String(value)}`,
    )
  }
  return value
}

/** Fill in defaults and validate; throws TypeError on a nonsensical value. */
export function resolveServerConfig(options: ServerOptions = {}): ResolvedServerConfig {
  const websocketTimeout =
    options.websocketTimeout === undefined
      ? 86_400_000
      : options.websocketTimeout === null || options.websocketTimeout < 0
        ? null
        : options.websocketTimeout
  const httpTimeout =
    options.httpTimeout == null ? null : duration('httpTimeout', options.httpTimeout, 0)
  const proxy = options.proxyHeaders ?? false
  const proxyHeaders =
    proxy === false
      ? null
      : {
          address: (
            (proxy === true ? undefined : proxy.address) ?? 'X-Forwarded-For'
          ).toLowerCase(),
          port: ((proxy === true ? undefined : proxy.port) ?? 'X-Forwarded-Port').toLowerCase(),
          proto: ((proxy === true ? undefined : proxy.proto) ?? 'X-Forwarded-Proto').toLowerCase(),
        }
  // Checked as unknown: JavaScript callers may pass anything.
  const lifespan: unknown = options.lifespan ?? 'auto'
  if (lifespan !== 'auto' && lifespan !== 'on' && lifespan !== 'off') {
    throw new TypeError(
      `Server option lifespan must be 'auto', 'on' or 'off', got ${String(lifespan)}`,
    )
  }
  const reactor: unknown = options.reactor ?? 'auto'
  if (reactor !== 'auto' && reactor !== 'uws' && reactor !== 'node') {
    throw new TypeError(
      `Server option reactor must be 'auto', 'uws' or 'node', got ${String(reactor)}`,
    )
  }
  return Object.freeze({
    reactor,
    httpTimeout,
    websocketTimeout,
    websocketConnectTimeout: duration(
      'websocketConnectTimeout',
      options.websocketConnectTimeout,
      20_000,
    ),
    websocketHandshakeTimeout: duration(
      'websocketHandshakeTimeout',
      options.websocketHandshakeTimeout,
      5_000,
    ),
    pingInterval: duration('pingInterval', options.pingInterval, 20_000),
    pingTimeout: duration('pingTimeout', options.pingTimeout, 30_000),
    applicationCloseTimeout: duration(
      'applicationCloseTimeout',
      options.applicationCloseTimeout,
      10_000,
    ),
    websocketMaxMessageSize: duration(
      'websocketMaxMessageSize',
      options.websocketMaxMessageSize,
      DEFAULT_MAX_MESSAGE_SIZE,
    ),
    websocketMaxBufferedBytes: byteCount(
      'websocketMaxBufferedBytes',
      options.websocketMaxBufferedBytes,
      DEFAULT_MAX_BUFFERED_BYTES,
    ),
    websocketBufferBudget: byteCount(
      'websocketBufferBudget',
      options.websocketBufferBudget,
      DEFAULT_BUFFER_BUDGET,
    ),
    websocketCloseTimeout: duration('websocketCloseTimeout', options.websocketCloseTimeout, 5_000),
    rootPath: options.rootPath ?? '',
    proxyHeaders: proxyHeaders && Object.freeze(proxyHeaders),
    serverName: options.serverName ?? 'channels-ts',
    lifespan,
    signalHandlers: options.signalHandlers ?? false,
    exclusive: options.exclusive ?? true,
    ...slowClientLimits(options),
    onAction: options.onAction ?? null,
  })
}

/** The node reactor's limits on slow and surplus clients (uvicorn's and node's knobs). */
function slowClientLimits(options: ServerOptions) {
  const optional = (name: string, value: number | null | undefined, fallback: number) =>
    value === null ? null : duration(name, value, fallback)
  const headersTimeout = optional('headersTimeout', options.headersTimeout, 10_000)
  const requestTimeout = optional('requestTimeout', options.requestTimeout, 60_000)
  // node refuses a head timeout longer than the whole request's (0 means none on both).
  if (headersTimeout && requestTimeout && headersTimeout > requestTimeout) {
    throw new TypeError(
      `Server option headersTimeout (${headersTimeout} ms) must not exceed requestTimeout ` +
        `(${requestTimeout} ms)`,
    )
  }
  const maxConnections = options.maxConnections ?? null
  if (maxConnections !== null && !(Number.isInteger(maxConnections) && maxConnections > 0)) {
    const got = String(maxConnections)
    throw new TypeError(
      `Server option maxConnections must be a positive integer or null, got ${got}`,
    )
  }
  return {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: duration('keepAliveTimeout', options.keepAliveTimeout, 5_000),
    maxConnections,
  }
}

/**
 * How often the housekeeping sweep runs: Daphne's 2 s timeout checker, tightened when a
 * configured timeout is shorter so short test timeouts still fire promptly.
 */
export function sweepInterval(config: ResolvedServerConfig): number {
  const limits = [
    config.pingInterval,
    config.pingTimeout,
    config.applicationCloseTimeout,
    Math.min(config.websocketHandshakeTimeout, config.websocketConnectTimeout),
  ]
  if (config.httpTimeout !== null) limits.push(config.httpTimeout)
  if (config.websocketTimeout !== null) limits.push(config.websocketTimeout)
  return Math.max(10, Math.min(2_000, Math.floor(Math.min(...limits) / 4)))
}
