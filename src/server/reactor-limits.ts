/**
 * The server's limits on slow and surplus clients as reactor options, and the startup warnings
 * for what the chosen reactor cannot do with the configuration it was given.
 * @module
 */
import type { Endpoint } from './endpoints/types.js'
import type { ReactorName, ReactorOptions } from './reactor/types.js'
import type { ResolvedServerConfig } from './config.js'
import { log } from './connection.js'

/** At most one "connection refused" warning per this many ms (a flood must not flood the log). */
const REFUSED_LOG_INTERVAL = 10_000

type LimitOptions = Pick<
  ReactorOptions,
  | 'headersTimeout'
  | 'requestTimeout'
  | 'keepAliveTimeout'
  | 'maxConnections'
  | 'onConnectionRefused'
>

/** The reactor options for the config's limits (null, "never", becomes the reactors' 0). */
export function reactorLimits(config: ResolvedServerConfig): LimitOptions {
  const limits: LimitOptions = {
    headersTimeout: config.headersTimeout ?? 0,
    requestTimeout: config.requestTimeout ?? 0,
    keepAliveTimeout: config.keepAliveTimeout,
  }
  const max = config.maxConnections
  if (max !== null) {
    limits.maxConnections = max
    limits.onConnectionRefused = refusedLogger(max)
  }
  return limits
}

/** Logs the first refused connection, then at most one summary per interval. */
function refusedLogger(max: number): () => void {
  let last = -Infinity
  let unreported = 0
  return () => {
    unreported++
    const now = performance.now()
    if (now - last < REFUSED_LOG_INTERVAL) return
    last = now
    const count = unreported === 1 ? 'a connection' : `${unreported} connections`
    log.warn(`Refused ${count}: ${max} connections open (maxConnections)`)
    unreported = 0
  }
}

/** What to warn about at startup for this reactor and configuration. */
export function reactorWarnings(
  reactor: ReactorName,
  config: ResolvedServerConfig,
  endpoints: readonly Endpoint[],
): string[] {
  if (reactor !== 'uws') return []
  const warnings: string[] = []
  // Proxy headers or a unix socket: a reverse proxy is in front, and nginx speaks HTTP/1.0 to
  // upstreams unless told otherwise; uWS 20.30 leaves such requests unanswered.
  if (config.proxyHeaders !== null || endpoints.some((endpoint) => endpoint.kind === 'unix')) {
    warnings.push(
      'uWebSockets.js answers HTTP/1.1 only: an HTTP/1.0 request gets no answer. Behind nginx ' +
        "set 'proxy_http_version 1.1;' (README: Behind a proxy), or use --reactor node",
    )
  }
  if (config.maxConnections !== null) {
    warnings.push(
      'maxConnections is not enforced on uWebSockets.js (it has no connection cap); ' +
        'use --reactor node for it',
    )
  }
  return warnings
}
