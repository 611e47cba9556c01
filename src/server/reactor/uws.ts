/**
 * The uWebSockets.js reactor: the only module that loads uWebSockets.js. One uWS App per
 * listener, an `any` route for HTTP and a `ws` route whose `upgrade` is deferred to the server.
 * The package silently swaps in a JS emulation when its native binary fails to load, so the
 * loader checks what it really got and says so in `engine`.
 * @module
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
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
import type { UwsApp, UwsContext, UwsHttpRequest, UwsHttpResponse, UwsModule } from './uws-api.js'
import { uwsScope } from './uws-api.js'
import { UwsHttpResponder, writeHead } from './uws-http.js'
import { copyRequest, type ListenInfo } from './uws-request.js'
import { createBehavior, SendBatch, type UwsSocket, UwsUpgradeResponder } from './uws-websocket.js'
import { parseSubprotocols, validateHandshake, wantsWebSocket, websocketKey } from './handshake.js'
import { prepareUnixPath, type UnixPathClaim } from './unix-lock.js'
import { onSignal } from './signals.js'
import { SlotList } from '../../util/slot-list.js'

const require = createRequire(import.meta.url)

/** The package name as installed (an npm alias of the unofficial 20.30 build). */
const PACKAGE = 'uWebSockets.js'

/** What was loaded: the module, the engine string, and whether the native binary is in use. */
export interface LoadedUws {
  uws: UwsModule
  engine: string
  native: boolean
  /** Why the native binary did not load (only when `native` is false). */
  reason?: string
}

/** The binary file name this Node needs, e.g. `uws_linux_x64_115.node`. */
export function binaryName(): string {
  return `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`
}

/**
 * Load uWebSockets.js and find out whether the native binary is what we got. The binary is
 * required first by its own path: if that works, the package's main must be that same module
 * object; if it fails (or `UWS_USE_FALLBACK` is set) the package's JS fallback is in use.
 */
export function loadUws(load: (id: string) => unknown = require): LoadedUws {
  const version = packageVersion(load)
  const binary = binaryName()
  let native: unknown = null
  let reason: string | undefined
  try {
    native = load(`${PACKAGE}/binaries/${binary}`)
  } catch (error) {
    reason = (error as Error).message.split('\n')[0]
  }
  // Without the binary, load the fallback directly: the package's main would print a warning.
  const uws = (native === null ? load(`${PACKAGE}/dist/index.js`) : load(PACKAGE)) as UwsModule
  if (native !== null && uws === native) {
    return { uws, native: true, engine: `uWebSockets.js ${version} (native, ${binary})` }
  }
  reason ??= 'the package loaded its JS fallback'
  return { uws, native: false, engine: `uWebSockets.js ${version} (JS fallback)`, reason }
}

function packageVersion(load: (id: string) => unknown): string {
  try {
    const pkg = load(`${PACKAGE}/package.json`) as { version?: string }
    return (pkg.version ?? 'unknown').replace(/-unofficial.*$/, '')
  } catch {
    return 'unknown'
  }
}

let loaded: LoadedUws | null = null

/** `loadUws()` once per process. */
export function getUws(): LoadedUws {
  loaded ??= loadUws()
  return loaded
}

/** One listener's uWS state, for `stop()`. */
interface UwsListenerState {
  app: UwsApp
  socket: object | null
  claim: UnixPathClaim | null
  closed: boolean
}

/** Error for a listen that could not happen, with a Node-like `code`. */
function listenError(endpoint: Endpoint, message: string, code: string, cause?: unknown): Error {
  const text = `Cannot listen on ${endpointLabel(endpoint)}: ${message}`
  return Object.assign(new Error(text, { cause }), { code })
}

/**
 * How WebSocket sends reach uWS: held and written once per event-loop turn (see `SendBatch`), or
 * each written at once, the plain path the batch is tested against. Not a server setting.
 */
export type UwsSendMode = 'batched' | 'immediate'

/** The reactor on uWebSockets.js. */
export class UwsReactor implements Reactor {
  readonly name = 'uws' as const
  readonly engine: string
  /** False when the package's JS fallback was loaded instead of the native binary. */
  readonly native: boolean
  readonly #uws: UwsModule
  readonly #options: ReactorOptions
  readonly #listeners = new Set<UwsListenerState>()
  readonly #sockets = new SlotList<UwsSocket>()
  /** In-flight HTTP responses and pending upgrades, for `stop()`. */
  readonly #responses = new Set<{ destroy(): void }>()
  /** Every listener's sockets share one batch: one flush per turn. */
  readonly #batch: SendBatch | null

  constructor(
    options: ReactorOptions,
    loadedUws: LoadedUws = getUws(),
    sends: UwsSendMode = 'batched',
  ) {
    this.#uws = loadedUws.uws
    this.engine = loadedUws.engine
    this.native = loadedUws.native
    this.#options = options
    this.#batch = sends === 'batched' ? new SendBatch() : null
  }

  async listen(endpoint: Endpoint, handlers: ReactorHandlers): Promise<Listener> {
    if (endpoint.kind === 'fd') {
      throw listenError(
        endpoint,
        'uWebSockets.js cannot adopt a file descriptor; use --reactor node',
        'ENOTSUP',
      )
    }
    const app = endpoint.kind === 'ssl' ? this.#sslApp(endpoint) : this.#uws.App()
    const info: ListenInfo = {
      local: endpoint.kind === 'unix' ? null : { host: endpoint.host, port: endpoint.port },
      tls: endpoint.kind === 'ssl',
      unix: endpoint.kind === 'unix',
    }
    this.#route(app, handlers, info)
    const state: UwsListenerState = { app, socket: null, claim: null, closed: false }
    let address: BoundAddress
    if (endpoint.kind === 'unix') {
      state.claim = prepareUnixPath(endpoint)
      app.listen_unix((socket) => {
        state.socket = socket || null
      }, endpoint.path)
      if (state.socket === null) {
        state.claim.release()
        app.close?.()
        throw listenError(endpoint, 'bind failed (missing directory or no permission?)', 'EACCES')
      }
      if (endpoint.mode !== undefined) fs.chmodSync(endpoint.path, endpoint.mode)
      address = { kind: 'unix', path: endpoint.path }
    } else {
      const callback = (socket: object | false) => {
        state.socket = socket || null
      }
      // Without the exclusive flag uSockets sets SO_REUSEPORT: a second server on a busy port
      // would listen too, and the kernel would split the connections between the two.
      const flags =
        this.#options.exclusive === false ? 0 : (this.#uws.LIBUS_LISTEN_EXCLUSIVE_PORT ?? 0)
      if (endpoint.host === '') app.listen(endpoint.port, flags, callback)
      else app.listen(endpoint.host, endpoint.port, flags, callback)
      if (state.socket === null) {
        app.close?.()
        throw listenError(endpoint, 'address already in use or not available', 'EADDRINUSE')
      }
      const port = this.#uws.us_socket_local_port(state.socket)
      info.local = { host: endpoint.host || '0.0.0.0', port }
      address = { kind: endpoint.kind, host: endpoint.host, port }
    }
    this.#listeners.add(state)
    return {
      endpoint,
      address,
      close: async () => this.#closeListener(state),
    }
  }

  onSignal(
    signals: readonly NodeJS.Signals[],
    callback: (signal: NodeJS.Signals) => void,
  ): () => void {
    return onSignal(signals, callback)
  }

  async stop(): Promise<void> {
    for (const state of this.#listeners) this.#closeListener(state)
    for (const socket of this.#sockets.toArray()) socket.terminate()
    for (const response of [...this.#responses]) response.destroy()
    // `App.close()` also ends idle keep-alive connections, which nothing else can reach.
    for (const state of this.#listeners) state.app.close?.() // the JS fallback lacks it
    this.#listeners.clear()
  }

  #closeListener(state: UwsListenerState): void {
    if (state.closed) return
    state.closed = true
    if (state.socket !== null) this.#uws.us_listen_socket_close(state.socket)
    state.socket = null
    state.claim?.release()
  }

  #sslApp(endpoint: SslEndpoint): UwsApp {
    if (typeof this.#uws.SSLApp !== 'function') {
      throw listenError(endpoint, `${this.engine} has no TLS; use --reactor node`, 'ENOTSUP')
    }
    for (const file of [endpoint.privateKey, endpoint.certKey, endpoint.extraCertChain]) {
      if (file === undefined) continue
      try {
        fs.accessSync(file, fs.constants.R_OK)
      } catch (error) {
        throw listenError(endpoint, `cannot read ${file}`, 'ENOENT', error)
      }
    }
    // uSockets takes one certificate file, so an extra chain is appended to a temporary copy.
    let dir: string | null = null
    let certFile = endpoint.certKey
    if (endpoint.extraCertChain !== undefined) {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'channels-tls-'))
      certFile = path.join(dir, 'chain.pem')
      const cert = fs.readFileSync(endpoint.certKey, 'utf8')
      const chain = fs.readFileSync(endpoint.extraCertChain, 'utf8')
      fs.writeFileSync(certFile, `${cert.trimEnd()}\n${chain}`, { mode: 0o600 })
    }
    try {
      return this.#uws.SSLApp({
        key_file_name: endpoint.privateKey,
        cert_file_name: certFile,
        ...(endpoint.dhParameters === undefined
          ? {}
          : { dh_params_file_name: endpoint.dhParameters }),
      })
    } catch (error) {
      const reason = 'uWebSockets.js could not load the key/certificate'
      throw listenError(endpoint, reason, 'EINVAL', error)
    } finally {
      if (dir !== null) fs.rmSync(dir, { recursive: true, force: true })
    }
  }

  #route(app: UwsApp, handlers: ReactorHandlers, info: ListenInfo): void {
    const responses = this.#responses
    const upgrade = (res: UwsHttpResponse, req: UwsHttpRequest, context: UwsContext) => {
      uwsScope.depth++
      try {
        const request = copyRequest(res, req, info)
        const rejection = validateHandshake(request.method, request.headers)
        if (rejection !== null) {
          writeHead(res, rejection.head, { closing: true })
          res.end(rejection.body, true)
          return
        }
        // Validated above, so present; read from the copy rather than asking uWS again.
        const key = websocketKey(request.headers)
        const responder = new UwsUpgradeResponder(res, key, context, responses)
        try {
          handlers.onUpgrade(request, parseSubprotocols(request.headers), responder)
        } finally {
          responder.leaveHandler()
        }
      } finally {
        uwsScope.depth--
      }
    }
    app.ws(
      '/*',
      createBehavior({
        maxPayloadLength: this.#options.maxPayloadLength,
        maxBackpressure: this.#options.maxBackpressure,
        closeTimeout: this.#options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
        compression: this.#uws.DISABLED ?? 0,
        upgrade,
        sockets: this.#sockets,
        batch: this.#batch,
      }),
    )
    app.any('/*', (res, req) => {
      uwsScope.depth++
      try {
        const request = copyRequest(res, req, info)
        // uWS passes upgrade attempts its `ws` route refused (no 24-byte key, not GET) here.
        if (wantsWebSocket(request.headers)) {
          const rejection = validateHandshake(request.method, request.headers)
          if (rejection !== null) {
            writeHead(res, rejection.head, { closing: true })
            res.end(rejection.body, true)
            return
          }
        }
        const responder: UwsHttpResponder = new UwsHttpResponder(res, request.method, () =>
          responses.delete(responder),
        )
        responses.add(responder)
        handlers.onRequest(request, responder)
      } finally {
        uwsScope.depth--
      }
    })
  }
}

/** The registry's factory for `uws`. */
export const createUwsReactor: ReactorFactory = (options) => new UwsReactor(options)
