/**
 * A live server in the test process: the real channels-ts server (the one `channels serve` runs)
 * on a free port, serving the application a test hands it, for clients that need a socket (a
 * browser, `ws`, `fetch`). The role of Channels' `ChannelsLiveServerTestCase`, without its
 * subprocess: the application shares the test's module instances, settings and channel layers.
 * @module
 */
import type { Application } from '../framework/asgi/types.js'
import { StaticFilesHandler, type StaticFilesOptions } from '../framework/staticfiles/index.js'
import type { ReactorName, Server, ServerOptions } from '../server/index.js'

/** What {@link startLiveServer} takes: the server's options, and where to listen. */
export interface LiveServerOptions extends Omit<ServerOptions, 'signalHandlers'> {
  /** The interface to listen on (default `127.0.0.1`). */
  host?: string
  /** The port (default 0: one the system picks, free). */
  port?: number
  /** Serve these static folders under their URL (runserver's static files) in front of the app. */
  staticFiles?: StaticFilesOptions
}

/** A running live server. */
export interface LiveServer {
  /** `http://HOST:PORT`, no trailing slash (Channels' `live_server_url`). */
  readonly url: string
  /** `ws://HOST:PORT`, no trailing slash (Channels' `live_server_ws_url`). */
  readonly wsUrl: string
  /** The host the URLs name (a wildcard interface is reached through loopback). */
  readonly host: string
  /** The port the server really bound. */
  readonly port: number
  /** The reactor it runs on (`auto` resolved). */
  readonly reactor: ReactorName
  /** What the reactor loaded, e.g. `uWebSockets.js 20.30.0 (native)`. */
  readonly engine: string
  /** Set when `reactor: 'auto'` fell back from uWebSockets.js to node. */
  readonly warning?: string
  /** The server itself (`channels-ts/server`): `connectionCount`, `application`, `config`. */
  readonly server: Server
  /**
   * Stop gracefully: no new connections, open WebSockets closed with 1001, applications given
   * `applicationCloseTimeout` to finish, lifespan shutdown. Calling it again returns the same
   * promise.
   */
  stop(): Promise<void>
}

/**
 * Start the real server with `application` on a free port of 127.0.0.1 and resolve once it
 * listens (after lifespan startup). Rejects with the server's own error when it cannot start (a
 * busy port, a failed lifespan startup), having closed whatever it opened.
 *
 * uWebSockets.js is loaded only here, and only when the reactor is `uws` or `auto`: importing
 * `channels-ts/testing` loads no server code.
 */
export async function startLiveServer(
  application: Application,
  options: LiveServerOptions = {},
): Promise<LiveServer> {
  const { host = '127.0.0.1', port = 0, staticFiles, ...serverOptions } = options
  if (typeof application !== 'function')
    throw new TypeError('startLiveServer() needs an ASGI application function')
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TypeError(`startLiveServer(): port must be 0-65535, got ${String(port)}`)
  const app = staticFiles ? StaticFilesHandler(application, staticFiles) : application
  const { createServer } = await import('../server/index.js')
  const server = createServer(app, [{ kind: 'tcp', host, port }], {
    ...serverOptions,
    signalHandlers: false,
  })
  const started = await server.start()
  const address = started.listeners[0]?.address
  if (address?.kind !== 'tcp') {
    await server.stop()
    throw new Error(`The live server reported no TCP address (${JSON.stringify(address)})`)
  }
  const urlHost = hostForUrl(host)
  const live: LiveServer = {
    url: `http://${urlHost}:${address.port}`,
    wsUrl: `ws://${urlHost}:${address.port}`,
    host: urlHost,
    port: address.port,
    reactor: started.reactor,
    engine: started.engine,
    ...(started.warning === undefined ? {} : { warning: started.warning }),
    server,
    // The server's stop() is itself idempotent: one stop, one promise.
    stop: () => server.stop(),
  }
  return live
}

/**
 * The host a client connects to for a server listening on `host`: loopback for a wildcard
 * interface, brackets around an IPv6 address.
 */
export function hostForUrl(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '[::1]'
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`
  return host
}
