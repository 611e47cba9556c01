/**
 * `channels runserver`: Daphne's development server command. One long-lived process owns the
 * sockets, the connections and the channel layer; user code is rebuilt into generations on change
 * (src/cli/README.md "Hot reload"), static files are served in DEBUG, and each request is logged.
 * @module
 */
import { stripVTControlCharacters } from 'node:util'
import { setLogHandler } from '../framework/asgi/logging.js'
import type { Application } from '../framework/asgi/types.js'
import { buildEndpointDescriptionStrings, parseEndpoint } from '../server/endpoints/index.js'
import { channelLayers } from '../framework/layers/index.js'
import { formatRunserverLine, type AccessEvent } from '../server/access-log.js'
import { StaticFilesHandler, staticRoots } from '../framework/staticfiles/index.js'
import { displayUrl, parseAddrport } from './addrport.js'
import { bannerLines } from './banner.js'
import { dashboardHosts, mountCliDashboard, teeLogHandler } from './dashboard.js'
import type { Inspector } from '../server/dashboard/inspector.js'
import type { BuildReport } from '../server/dashboard/types.js'
import { systemCheck } from './checks.js'
import { CommandError } from './errors.js'
import { untilAborted, type CliContext, type CliServer } from './io.js'
import { describeListenError } from './listen-errors.js'
import { createLogHandler } from './log-handler.js'
import { frameworkVersion } from './package-info.js'
import { createProjectLoader } from './project-loader.js'
import { createStableApplication } from './reload/stable-app.js'
import { snapshot, startReloader, type Reloader } from './reload/reloader.js'
import { connectToSupervisor } from './reload/supervisor.js'
import { preloadWatcher } from './reload/watcher.js'
import { findSettings, type ProjectSettings } from './settings-loader.js'

/** runserver's flags, as commander hands them over. */
export interface RunserverOptions {
  ipv6?: boolean
  noreload?: boolean
  nostatic?: boolean
  insecure?: boolean
  http_timeout?: number
  websocket_handshake_timeout?: number
  reactor?: 'auto' | 'uws' | 'node'
  settings?: string
  /** Django's flag: one event loop serves every connection here, so it changes nothing. */
  nothreading?: boolean
  /** Django's flag: do not run the system checks (src/cli/checks.ts). */
  skipChecks?: boolean
  /** `--no-dashboard` sets it false: no dashboard at /_channels/ even in DEBUG. */
  dashboard?: boolean
}

/** How long import.meta.hot.dispose callbacks may take when the server stops. */
const DISPOSE_LIMIT_MS = 5_000

/** Run the development server until shutdown; resolves to the exit code. */
export async function runserver(
  addrport: string | undefined,
  options: RunserverOptions,
  ctx: CliContext,
): Promise<number> {
  const location = findSettings(options.settings, ctx.env, ctx.cwd)
  const bind = parseAddrport(addrport, options.ipv6 === true)
  // Started by the watchdog parent (reload/supervisor.ts): beat, and bind its port again.
  const supervisor = connectToSupervisor(ctx.env)
  supervisor?.project(location.projectDir)
  if (supervisor) bind.port = await supervisor.listenPort(bind.addr, bind.port)
  const shutdown = () =>
    supervisor ? AbortSignal.any([ctx.shutdown(), supervisor.stopped]) : ctx.shutdown()
  const out = (line: string) => ctx.stdout(`${line}\n`)
  const err = (line: string) => ctx.stderr(`${line}\n`)
  process.setSourceMapsEnabled(true)
  let inspector: Inspector | undefined
  const previousHandler = setLogHandler(
    teeLogHandler(createLogHandler(ctx, { minLevel: 'warn' }), () => inspector),
  )
  let lastBuild: BuildReport | null = null
  const built = (ok: boolean, durationMs: number, generation: number | null, error?: string) => {
    lastBuild = {
      at: new Date().toISOString(),
      ok,
      durationMs,
      generation,
      error: error === undefined ? null : stripVTControlCharacters(error),
    }
  }

  const serveStatic = (settings: ProjectSettings) =>
    options.nostatic !== true && (settings.DEBUG === true || options.insecure === true)
  let checked = false
  const runChecks = (settings: ProjectSettings) => {
    const outcome = systemCheck(settings, { projectDir: location.projectDir, staticfiles: true })
    // Django prints a clean result on stdout, issues on stderr; a reload mentions issues only.
    if (outcome.issues > 0) err(ctx.paint.yellow(outcome.text))
    else if (!checked) out(outcome.text)
    checked = true
  }
  // chokidar loads while esbuild starts and builds (cold start). The server modules cannot: user
  // code require()s the framework meanwhile, and Node 20 fails a require() of an ES module that
  // an import() is still loading.
  if (options.noreload !== true) preloadWatcher().catch(() => undefined)
  const loader = await createProjectLoader({
    projectDir: location.projectDir,
    settingsFile: location.file,
    color: ctx.color,
    hot: options.noreload !== true,
    checks: options.skipChecks === true ? undefined : runChecks,
    wrap: (app: Application, settings) =>
      serveStatic(settings)
        ? StaticFilesHandler(app, {
            staticUrl: typeof settings.STATIC_URL === 'string' ? settings.STATIC_URL : '/static/',
            roots: staticRoots(location.projectDir, settings),
          })
        : app,
  })
  let server: CliServer | undefined
  let reloader: Reloader | undefined
  let firstLoaded: (() => void) | undefined
  let builtTimes: Map<string, number> | undefined
  const startReloading = async () => {
    reloader = startReloader(
      location.projectDir,
      loader,
      {
        info: err,
        error: (text) => err(ctx.paint.red(text)),
        reloaded: (outcome, ms) => {
          built(true, ms, outcome.generation.id)
          const message = `Reloaded in ${ms} ms (generation ${outcome.generation.id})`
          inspector?.record({ level: 'info', source: 'reload', message, detail: null })
          firstLoaded?.()
        },
        failed: (message, ms) => {
          built(false, ms, null, message)
          const detail = stripVTControlCharacters(message)
          inspector?.record({ level: 'error', source: 'reload', message: 'Reload failed', detail })
        },
      },
      undefined,
      builtTimes,
    )
    await reloader.ready
    err(`Watching for file changes in ${location.projectDir}`)
  }
  try {
    if (options.skipChecks !== true) out('Performing system checks...\n')
    const loadStarted = performance.now()
    const first = await loader.load({ settings: true })
    const firstMs = Math.round(performance.now() - loadStarted)
    if (first.ok) built(true, firstMs, first.generation.id)
    else built(false, firstMs, null, first.message)
    builtTimes = snapshot(loader)
    if (!first.ok) {
      if (options.noreload === true) throw new CommandError(first.message)
      // Like Django's reloader: report, keep watching, start serving once the project loads.
      err(ctx.paint.red(first.message))
      const loaded = new Promise<void>((resolve) => (firstLoaded = resolve))
      await startReloading()
      err('The server starts once the project loads; fix the error and save.')
      const stopped = untilAborted(shutdown()).then(() => 'stopped' as const)
      if ((await Promise.race([loaded, stopped])) === 'stopped') return 0
    }
    const generation = loader.current
    if (!generation) throw new CommandError('No application loaded')
    checkAllowedHosts(generation.settings)

    const endpoints = buildEndpointDescriptionStrings({ host: bind.addr, port: bind.port }).map(
      parseEndpoint,
    )
    const createServer = await ctx.createServer()
    // The generation each connection's scope was handed to, for the dashboard's table.
    const generationOf = new WeakMap<object, number>()
    const app = createStableApplication((scope) => {
      const lease = loader.lease()
      generationOf.set(scope, lease.generation)
      return lease
    })
    server = createServer(app, endpoints, {
      reactor: options.reactor ?? 'auto',
      httpTimeout: options.http_timeout === undefined ? null : options.http_timeout * 1000,
      websocketHandshakeTimeout: (options.websocket_handshake_timeout ?? 5) * 1000,
      rootPath:
        typeof generation.settings.FORCE_SCRIPT_NAME === 'string'
          ? generation.settings.FORCE_SCRIPT_NAME
          : '',
      signalHandlers: false,
      onAction: (event: AccessEvent) => {
        const line = formatRunserverLine(event)
        err(ctx.paint.style(line.style, line.message))
        inspector?.recordAccess(event)
      },
    })
    if (options.dashboard !== false && generation.settings.DEBUG === true) {
      inspector = mountCliDashboard(
        server,
        { token: null, allowHost: dashboardHosts(generation.settings) },
        {
          describe: (scope) => ({ generation: generationOf.get(scope) ?? null }),
          reload: () => ({ generations: loader.alive(), lastBuild }),
        },
      )
    }
    let started
    try {
      started = await server.start()
    } catch (error) {
      server = undefined
      throw new CommandError(describeListenError(error))
    }
    const bound = started.listeners[0]?.address
    const port = bound && bound.kind === 'tcp' ? bound.port : bind.port
    const url = displayUrl(bind.addr, port, bind.ipv6)
    for (const line of bannerLines({
      date: ctx.now(),
      version: frameworkVersion(),
      settings: location.display,
      url,
      engine: started.engine,
      warning: started.warning,
    })) {
      out(line)
    }
    if (inspector) out(`Dashboard at ${url.replace(/\/$/, '')}/_channels/`)
    supervisor?.serving(port)

    if (options.noreload !== true && !reloader) await startReloading()
    await untilAborted(shutdown())
    return 0
  } finally {
    await reloader?.close()
    await server?.stop()
    inspector?.close()
    // The code of every generation stops: timers cleared, import.meta.hot.dispose callbacks run.
    if (!(await loader.retireAll(DISPOSE_LIMIT_MS)))
      err(ctx.paint.red(`Dispose callbacks still running after ${DISPOSE_LIMIT_MS / 1000} s.`))
    await loader.dispose()
    await channelLayers.closeAll().catch(() => undefined)
    setLogHandler(previousHandler)
    // Beats go on to the end: a stop that takes long is not a stuck loop.
    supervisor?.close()
  }
}

/** Django's check: a production-mode server must say which hosts it serves. */
function checkAllowedHosts(settings: ProjectSettings): void {
  const hosts = settings.ALLOWED_HOSTS
  const empty = !Array.isArray(hosts) || hosts.length === 0
  if (settings.DEBUG !== true && empty) {
    throw new CommandError('CommandError: You must set settings.ALLOWED_HOSTS if DEBUG is False.')
  }
}
