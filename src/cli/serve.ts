/**
 * `channels serve`: the production server with Daphne's command line (daphne/cli.py). No reload,
 * no static files; the application is `module:attr` or, by default, ASGI_APPLICATION. With
 * `--workers N` (N > 1) this process supervises N worker processes (workers/supervisor.ts), each
 * of which runs this same function as a worker (workers/worker.ts).
 * @module
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import { getLogger, setLogHandler } from '../framework/asgi/logging.js'
import {
  describeEndpoint,
  parseEndpoint,
  resolveEndpointStrings,
  type Endpoint,
} from '../server/endpoints/index.js'
import { channelLayers } from '../framework/layers/index.js'
import { configureSettings } from '../framework/settings/index.js'
import { formatAccessLog, type AccessEvent } from '../server/access-log.js'
import { createTurnBuffer } from './turn-buffer.js'
import type { ServerOptions } from '../server/config.js'
import { CommandError } from './errors.js'
import { untilAborted, type CliContext, type CliServer } from './io.js'
import { describeServeListenError } from './listen-errors.js'
import { systemCheck } from './checks.js'
import { dashboardHosts, dashboardToken, mountCliDashboard, teeLogHandler } from './dashboard.js'
import { createLogHandler, DAPHNE_LOG_FORMAT, verbosityLevel } from './log-handler.js'
import type { Inspector } from '../server/dashboard/inspector.js'
import { createProjectLoader } from './project-loader.js'
import { findSettings, type SettingsLocation } from './settings-loader.js'
import { refuseInMemoryLayers } from './workers/in-memory-check.js'
import { claimPorts } from './workers/ports.js'
import { superviseWorkers } from './workers/supervisor.js'
import { connectToSupervisor, type WorkerLink } from './workers/worker.js'

/** serve's flags, as commander hands them over (Daphne's names). */
export interface ServeOptions {
  port?: number
  bind?: string
  unixSocket?: string
  fd?: number
  endpoint?: string[]
  websocket_timeout?: number
  websocket_connect_timeout?: number
  verbosity?: number
  httpTimeout?: number
  accessLog?: string
  /** Daphne's --log-fmt: a Python logging format string. */
  logFmt?: string
  pingInterval?: number
  pingTimeout?: number
  applicationCloseTimeout?: number
  websocketMaxMessageSize?: number
  websocketMaxBufferedBytes?: number
  websocketBufferBudget?: number
  websocketCloseTimeout?: number
  rootPath?: string
  proxyHeaders?: boolean
  proxyHeadersHost?: string
  proxyHeadersPort?: string
  serverName?: string | false
  reactor?: 'auto' | 'uws' | 'node'
  settings?: string
  headersTimeout?: number
  requestTimeout?: number
  keepAliveTimeout?: number
  maxConnections?: number
  /** Worker processes sharing the endpoints (1: this process serves). */
  workers?: number
  /** Serve the dashboard at /_channels/ (with a token: cli/dashboard.ts). */
  dashboard?: boolean
}

const logger = getLogger('channels.cli')

/** Daphne's flags → ServerOptions (milliseconds); exported for the CLI tests. */
export function serverOptionsFrom(options: ServeOptions): ServerOptions {
  const needsProxy = (flag: string) =>
    new CommandError(`argument ${flag}: --proxy-headers has to be passed for this parameter.`)
  if (options.proxyHeadersHost !== undefined && options.proxyHeaders !== true)
    throw needsProxy('--proxy-headers-host')
  if (options.proxyHeadersPort !== undefined && options.proxyHeaders !== true)
    throw needsProxy('--proxy-headers-port')
  const seconds = (value: number | undefined, fallback: number) => (value ?? fallback) * 1000
  const websocketTimeout = options.websocket_timeout ?? 86400
  const connect = seconds(options.websocket_connect_timeout, 5)
  return {
    reactor: options.reactor ?? 'auto',
    httpTimeout: options.httpTimeout === undefined ? null : options.httpTimeout * 1000,
    websocketTimeout: websocketTimeout < 0 ? null : websocketTimeout * 1000,
    // Daphne's CLI passes its connect timeout as both of these (daphne/cli.py).
    websocketConnectTimeout: connect,
    websocketHandshakeTimeout: connect,
    pingInterval: seconds(options.pingInterval, 20),
    pingTimeout: seconds(options.pingTimeout, 30),
    applicationCloseTimeout: seconds(options.applicationCloseTimeout, 10),
    websocketMaxMessageSize: options.websocketMaxMessageSize ?? 1048576,
    ...sendBufferLimits(options),
    rootPath: options.rootPath ?? '',
    proxyHeaders:
      options.proxyHeaders === true
        ? {
            address: options.proxyHeadersHost ?? 'X-Forwarded-For',
            port: options.proxyHeadersPort ?? 'X-Forwarded-Port',
            proto: 'X-Forwarded-Proto',
          }
        : false,
    ...(options.serverName === false
      ? { serverName: '' }
      : options.serverName !== undefined
        ? { serverName: options.serverName }
        : {}),
    signalHandlers: false,
    ...slowClientLimits(options),
  }
}

/** The WebSocket send-buffer limits: bytes as given, the close timeout in milliseconds. */
function sendBufferLimits(options: ServeOptions): ServerOptions {
  const flags: [string, number | undefined][] = [
    ['--websocket-max-buffered-bytes', options.websocketMaxBufferedBytes],
    ['--websocket-buffer-budget', options.websocketBufferBudget],
    ['--websocket-close-timeout', options.websocketCloseTimeout],
  ]
  for (const [flag, value] of flags) {
    if (value !== undefined && value < 0)
      throw new CommandError(`argument ${flag}: must not be negative`, { exitCode: 2 })
  }
  return {
    websocketMaxBufferedBytes: options.websocketMaxBufferedBytes ?? 8 * 1024 * 1024,
    websocketBufferBudget: options.websocketBufferBudget ?? 256 * 1024 * 1024,
    websocketCloseTimeout: (options.websocketCloseTimeout ?? 5) * 1000,
  }
}

/** The node reactor's limits: seconds to milliseconds, 0 to "never" / "no cap". */
function slowClientLimits(options: ServeOptions): ServerOptions {
  const flags: [string, number | undefined][] = [
    ['--headers-timeout', options.headersTimeout],
    ['--request-timeout', options.requestTimeout],
    ['--keep-alive-timeout', options.keepAliveTimeout],
    ['--max-connections', options.maxConnections],
  ]
  for (const [flag, value] of flags) {
    if (value !== undefined && value < 0)
      throw new CommandError(`argument ${flag}: must not be negative`, { exitCode: 2 })
  }
  const headers = options.headersTimeout ?? 10
  const request = options.requestTimeout ?? 60
  if (headers > 0 && request > 0 && headers > request)
    throw new CommandError(
      `argument --headers-timeout: must not exceed --request-timeout (${request})`,
      { exitCode: 2 },
    )
  return {
    headersTimeout: headers === 0 ? null : headers * 1000,
    requestTimeout: request === 0 ? null : request * 1000,
    keepAliveTimeout: (options.keepAliveTimeout ?? 5) * 1000,
    maxConnections: options.maxConnections ? options.maxConnections : null,
  }
}

/**
 * PIPE_BUF: a worker's access-log writes to the stdout all workers share stay whole up to this.
 */
const PIPE_BUF = 4096

/** Run the production server until SIGINT/SIGTERM; resolves to the exit code. */
export async function serve(
  application: string | undefined,
  options: ServeOptions,
  ctx: CliContext,
): Promise<number> {
  const level = verbosityLevel(options.verbosity)
  const serverOptions = serverOptionsFrom(options)
  // A supervisor's worker serves the supervisor's endpoints (port 0 resolved), on a shared port.
  const worker = connectToSupervisor(ctx.env)
  const endpoints =
    worker?.endpoints ??
    resolveEndpointStrings({
      host: options.bind ?? null,
      port: options.port ?? null,
      unixSocket: options.unixSocket ?? null,
      fileDescriptor: options.fd ?? null,
      endpoints: options.endpoint ?? [],
    })
  const parsed = endpoints.map(parseEndpoint)
  const workers = worker?.workers ?? options.workers ?? 1
  const supervising = worker === undefined && workers > 1
  if (supervising) refuseUnsharable(parsed, workers)
  if (worker) serverOptions.exclusive = false

  let location: SettingsLocation | undefined
  try {
    location = findSettings(options.settings, ctx.env, ctx.cwd)
  } catch (error) {
    // Without a positional application the settings are required (for ASGI_APPLICATION).
    if (application === undefined || options.settings !== undefined) throw error
  }
  process.setSourceMapsEnabled(true)
  // A worker's lines start with its id; a single server's look as they always did.
  const prefix = worker ? `[worker ${worker.id}] ` : ''
  let inspector: Inspector | undefined
  const previousHandler = setLogHandler(
    teeLogHandler(
      createLogHandler(ctx, {
        minLevel: level,
        format: options.logFmt ?? DAPHNE_LOG_FORMAT,
        prefix,
      }),
      () => inspector,
    ),
  )
  if (supervising) {
    try {
      return await supervise(parsed, workers, serverOptions, ctx)
    } finally {
      setLogHandler(previousHandler)
    }
  }
  const accessLog = openAccessLog(options.accessLog, options.verbosity ?? 1, ctx, worker)
  if (accessLog)
    serverOptions.onAction = (event: AccessEvent) => {
      accessLog.write(`${prefix}${formatAccessLog(event)}\n`)
      inspector?.recordAccess(event)
    }
  if (!location) configureSettings({})
  const loader = await createProjectLoader({
    projectDir: location?.projectDir ?? ctx.cwd,
    settingsFile: location?.file,
    application: application === undefined ? undefined : { spec: application, baseDir: ctx.cwd },
    color: ctx.color,
    // Daphne runs no checks, but settings that cannot work fail here rather than on a request.
    checks: location
      ? (settings) => {
          refuseInMemoryLayers(settings, workers)
          const outcome = systemCheck(settings, {
            projectDir: location.projectDir,
            applicationGiven: application !== undefined,
          })
          if (outcome.issues > 0) logger.warn(outcome.text)
        }
      : undefined,
  })
  let server: CliServer | undefined
  try {
    const loaded = await loader.load({ settings: true })
    // serve never rebuilds: release esbuild now (its service process and its pings), not at exit.
    await loader.dispose()
    if (!loaded.ok) throw new CommandError(loaded.message)
    logger.info(`Starting server at ${endpoints.join(', ')}`)
    const createServer = await ctx.createServer()
    server = createServer(loaded.generation.app, parsed, serverOptions)
    if (options.dashboard === true) {
      const settings = loaded.generation.settings
      inspector = mountCliDashboard(
        server,
        { token: dashboardToken(ctx.env, settings), allowHost: dashboardHosts(settings) },
        { worker: worker ? { id: worker.id, count: workers } : null },
      )
    }
    // Signals are ours before the first socket listens: a SIGTERM that lands while the server
    // starts then drains it instead of killing a process that already accepts connections.
    const shutdown = ctx.shutdown()
    let started
    try {
      started = await server.start()
    } catch (error) {
      server = undefined
      throw new CommandError(describeServeListenError(error))
    }
    logger.info(`Reactor: ${started.engine}`)
    if (started.warning) logger.warn(started.warning)
    for (const { endpoint, address } of started.listeners) {
      if (address.kind === 'tcp' || address.kind === 'ssl') {
        logger.info(`Listening on TCP address ${address.host}:${address.port}`)
      } else {
        logger.info(`Listening on ${describeEndpoint(endpoint)}`)
      }
    }
    worker?.listening()
    await untilAborted(worker ? AbortSignal.any([shutdown, worker.stopped]) : shutdown)
    return 0
  } finally {
    worker?.close()
    await server?.stop()
    inspector?.close()
    await loader.dispose() // again, for the paths that threw before the first one
    await channelLayers.closeAll().catch(() => undefined)
    await accessLog?.close()
    setLogHandler(previousHandler)
  }
}

/** The supervisor's part: check the ports, then run the workers until they have stopped. */
async function supervise(
  endpoints: Endpoint[],
  workers: number,
  serverOptions: ServerOptions,
  ctx: CliContext,
): Promise<number> {
  // Signals from here on stop the workers gracefully rather than killing this process.
  const shutdown = ctx.shutdown()
  let claimed: Endpoint[]
  try {
    claimed = await claimPorts(endpoints)
  } catch (error) {
    throw new CommandError(describeServeListenError(error))
  }
  // A worker takes up to the application close timeout for its apps and the close timeout for
  // its slowest client; beyond that and a margin it is stuck.
  const stopGraceMs =
    (serverOptions.applicationCloseTimeout ?? 10_000) +
    (serverOptions.websocketCloseTimeout ?? 5_000) +
    10_000
  return superviseWorkers({ workers, endpoints: claimed, stopGraceMs, shutdown })
}

/** Endpoints the workers cannot share: refused before any worker starts. */
function refuseUnsharable(endpoints: readonly Endpoint[], workers: number): void {
  for (const endpoint of endpoints) {
    if (endpoint.kind !== 'unix') continue
    throw new CommandError(
      `--workers ${workers} cannot serve unix:${endpoint.path}: a unix socket has one listening ` +
        `socket per path, and each worker would claim the path (and its lock) for itself. ` +
        `Serve TCP (or fd:) with --workers, or run one server per socket path.`,
    )
  }
}

interface AccessLogSink {
  write(line: string): void
  close(): Promise<void>
}

/** Daphne: `--access-log -` or no flag at verbosity ≥ 1 → stdout; a path → appended to. */
function openAccessLog(
  path: string | undefined,
  verbosity: number,
  ctx: CliContext,
  worker: WorkerLink | undefined,
): AccessLogSink | undefined {
  if (path === undefined && verbosity < 1) return undefined
  if (path === undefined || path === '-') {
    // The workers share stdout; a file is opened for appending, whose writes stay whole anyway.
    const lines = createTurnBuffer(ctx.stdout, worker ? { maxWriteBytes: PIPE_BUF } : {})
    return {
      write: (line) => lines.write(line),
      close: async () => lines.flush(),
    }
  }
  const stream: WriteStream = createWriteStream(path, { flags: 'a' })
  const lines = createTurnBuffer((text) => void stream.write(text))
  return {
    write: (line) => lines.write(line),
    close: () => {
      lines.flush()
      return new Promise((resolve) => stream.end(() => resolve()))
    },
  }
}
