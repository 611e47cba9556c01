/**
 * The node reactor: node:http / node:https servers (TCP, TLS, unix sockets, inherited fds) with
 * `ws` for WebSockets. The fallback where the uWS binary will not load, and the only reactor that
 * can adopt a file descriptor.
 * @module
 */
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Endpoint, SslEndpoint } from '../endpoints/types.js'
import { endpointLabel } from '../endpoints/format.js'
import type {
  BoundAddress,
  Listener,
  Reactor,
  ReactorFactory,
  ReactorHandlers,
  ReactorOptions,
} from './types.js'
import { DEFAULT_CLOSE_TIMEOUT } from './types.js'
import { parseSubprotocols, validateHandshake, wantsWebSocket } from './handshake.js'
import { flatHeaders, NodeHttpResponder, nodeRequest, writeRawResponse } from './node-http.js'
import { createWebSocketServer, type NodeSocket, NodeUpgradeResponder } from './node-websocket.js'
import { prepareUnixPath, type UnixPathClaim } from './unix-lock.js'
import { onSignal } from './signals.js'

/** One listener's state, for `stop()`. */
interface NodeListenerState {
  server: http.Server
  claim: UnixPathClaim | null
  closed: Promise<void> | null
}

/** Error for a listen that could not happen, keeping the system error's `code`. */
function listenError(endpoint: Endpoint, message: string, code: string, cause?: unknown): Error {
  const text = `Cannot listen on ${endpointLabel(endpoint)}: ${message}`
  return Object.assign(new Error(text, { cause }), { code })
}

function readTls(endpoint: SslEndpoint): https.ServerOptions {
  const read = (file: string) => {
    try {
      return fs.readFileSync(file)
    } catch (error) {
      throw listenError(endpoint, `cannot read ${file}`, 'ENOENT', error)
    }
  }
  const cert = read(endpoint.certKey)
  const chain = endpoint.extraCertChain === undefined ? null : read(endpoint.extraCertChain)
  return {
    key: read(endpoint.privateKey),
    cert: chain === null ? cert : Buffer.concat([cert, Buffer.from('\n'), chain]),
    ...(endpoint.dhParameters === undefined ? {} : { dhparam: read(endpoint.dhParameters) }),
  }
}

/**
 * node:http's limits on slow clients. It checks its timeouts in a sweep every
 * `connectionsCheckingInterval` (30 s by default, which would keep a slow client up to that much
 * longer), so the sweep runs every quarter of the shorter timeout, and at least once a second.
 */
function httpLimits(options: ReactorOptions): http.ServerOptions {
  const limits: http.ServerOptions = {}
  if (options.headersTimeout !== undefined) limits.headersTimeout = options.headersTimeout
  if (options.requestTimeout !== undefined) limits.requestTimeout = options.requestTimeout
  if (options.keepAliveTimeout !== undefined) limits.keepAliveTimeout = options.keepAliveTimeout
  const timeouts = [options.headersTimeout, options.requestTimeout].filter((t) => !!t) as number[]
  if (timeouts.length > 0) {
    const interval = Math.floor(Math.min(...timeouts) / 4)
    limits.connectionsCheckingInterval = Math.max(10, Math.min(1_000, interval))
  }
  return limits
}

/** The reactor on node:http and ws. */
export class NodeReactor implements Reactor {
  readonly name = 'node' as const
  readonly engine = `node:http + ws (Node ${process.versions.node})`
  readonly #options: ReactorOptions
  readonly #wss: ReturnType<typeof createWebSocketServer>
  readonly #listeners = new Set<NodeListenerState>()
  readonly #sockets = new Set<NodeSocket>()
  /** In-flight HTTP responses and pending upgrades, for `stop()`. */
  readonly #pending = new Set<{ destroy(): void }>()

  constructor(options: ReactorOptions) {
    this.#options = options
    this.#wss = createWebSocketServer(options.maxPayloadLength)
  }

  async listen(endpoint: Endpoint, handlers: ReactorHandlers): Promise<Listener> {
    let server: http.Server
    try {
      const limits = httpLimits(this.#options)
      server =
        endpoint.kind === 'ssl'
          ? https.createServer({ ...readTls(endpoint), ...limits })
          : http.createServer(limits)
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') throw error
      const reason = `invalid key/certificate (${(error as Error).message})`
      throw listenError(endpoint, reason, 'EINVAL', error)
    }
    if (this.#options.maxConnections) server.maxConnections = this.#options.maxConnections
    const onRefused = this.#options.onConnectionRefused
    if (onRefused) server.on('drop', () => onRefused())
    const tls = endpoint.kind === 'ssl'
    server.on('request', (req, res) => this.#request(req, res, handlers, tls))
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      // Node's http documentation: 'upgrade' always passes a net.Socket (a TLSSocket with https).
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- see above
      this.#upgrade(req, socket as Socket, head, handlers, tls),
    )
    const claim = endpoint.kind === 'unix' ? prepareUnixPath(endpoint) : null
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        const done = () => {
          server.off('error', reject)
          resolve()
        }
        switch (endpoint.kind) {
          case 'unix':
            server.listen({ path: endpoint.path, backlog: endpoint.backlog }, done)
            break
          case 'fd':
            server.listen({ fd: endpoint.fileno }, done)
            break
          default:
            server.listen(
              {
                port: endpoint.port,
                host: endpoint.host || undefined,
                backlog: endpoint.backlog,
                // In a cluster worker, node would otherwise share the primary's socket.
                exclusive: this.#options.exclusive !== false,
              },
              done,
            )
        }
      })
    } catch (error) {
      claim?.release()
      const code = (error as NodeJS.ErrnoException).code ?? 'EINVAL'
      const reason = code === 'EADDRINUSE' ? 'address already in use' : (error as Error).message
      throw listenError(endpoint, `${reason} (${code})`, code, error)
    }
    // Keep errors after listen (EMFILE on accept …) from crashing the process.
    server.on('error', () => undefined)
    if (endpoint.kind === 'unix' && endpoint.mode !== undefined) {
      fs.chmodSync(endpoint.path, endpoint.mode)
    }
    const state: NodeListenerState = { server, claim, closed: null }
    this.#listeners.add(state)
    return { endpoint, address: this.#address(endpoint, server), close: () => this.#close(state) }
  }

  onSignal(
    signals: readonly NodeJS.Signals[],
    callback: (signal: NodeJS.Signals) => void,
  ): () => void {
    return onSignal(signals, callback)
  }

  async stop(): Promise<void> {
    const closing = [...this.#listeners].map((state) => this.#close(state))
    // Including sockets still in a close handshake: ws would wait 30 s for the peer's reply.
    for (const socket of [...this.#sockets]) socket.destroy()
    for (const pending of [...this.#pending]) pending.destroy()
    for (const state of this.#listeners) state.server.closeAllConnections()
    await Promise.all(closing)
    this.#listeners.clear()
  }

  #address(endpoint: Endpoint, server: http.Server): BoundAddress {
    const bound = server.address()
    switch (endpoint.kind) {
      case 'unix':
        return { kind: 'unix', path: endpoint.path }
      case 'fd':
        return { kind: 'fd', fileno: endpoint.fileno }
      default:
        return {
          kind: endpoint.kind,
          host: endpoint.host,
          port: typeof bound === 'object' && bound !== null ? bound.port : endpoint.port,
        }
    }
  }

  #close(state: NodeListenerState): Promise<void> {
    state.closed ??= new Promise<void>((resolve) => {
      // Open connections belong to the server; only stop() closes them.
      state.server.close(() => resolve())
      // Idle keep-alive connections would hold close() open forever.
      state.server.closeIdleConnections()
    }).finally(() => state.claim?.release())
    return state.closed
  }

  #request(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    handlers: ReactorHandlers,
    tls: boolean,
  ): void {
    const request = nodeRequest(req, tls)
    // An upgrade attempt without `Connection: upgrade` arrives as a plain request.
    if (wantsWebSocket(request.headers)) {
      const rejection = validateHandshake(request.method, request.headers)
      if (rejection !== null) {
        res.shouldKeepAlive = false
        res.writeHead(rejection.head.status, rejection.head.reason, flatHeaders(rejection.head))
        res.end(rejection.body)
        return
      }
    }
    const responder: NodeHttpResponder = new NodeHttpResponder(req, res)
    this.#pending.add(responder)
    res.once('close', () => this.#pending.delete(responder))
    handlers.onRequest(request, responder)
  }

  #upgrade(
    req: http.IncomingMessage,
    socket: Socket,
    head: Buffer,
    handlers: ReactorHandlers,
    tls: boolean,
  ): void {
    const request = nodeRequest(req, tls)
    const rejection = validateHandshake(request.method, request.headers)
    if (rejection !== null) {
      socket.on('error', () => undefined)
      writeRawResponse(socket, rejection.head, rejection.body)
      return
    }
    const responder: NodeUpgradeResponder = new NodeUpgradeResponder(req, socket, head, {
      wss: this.#wss,
      maxBackpressure: this.#options.maxBackpressure,
      closeTimeout: this.#options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
      sockets: this.#sockets,
      onFinish: () => this.#pending.delete(responder),
    })
    this.#pending.add(responder)
    handlers.onUpgrade(request, parseSubprotocols(request.headers), responder)
  }
}

/** The registry's factory for `node`. */
export const createNodeReactor: ReactorFactory = (options) => new NodeReactor(options)
