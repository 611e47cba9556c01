/**
 * `channels runworker [--layer ALIAS] CHANNEL [CHANNEL ...]`: Channels' runworker. Loads the
 * settings and ASGI_APPLICATION as serve does, then runs the application's `channel` scopes for
 * the named channels of a channel layer (src/framework/worker) until SIGINT/SIGTERM, when it stops
 * taking messages, lets the ones in hand finish and closes the layers.
 * @module
 */
import type { Application } from '../framework/asgi/types.js'
import { getLogger, setLogHandler } from '../framework/asgi/logging.js'
import {
  channelLayers,
  DEFAULT_CHANNEL_LAYER,
  InMemoryChannelLayer,
  RedisPubSubChannelLayer,
  type ChannelLayer,
} from '../framework/layers/index.js'
import { ChannelNameRouter, ProtocolTypeRouter } from '../framework/routing/index.js'
import { BaseMiddleware } from '../framework/middleware/base.js'
import { Worker } from '../framework/worker/index.js'
import { workerChannels } from '../framework/worker/worker.js'
import { systemCheck } from './checks.js'
import { CommandError } from './errors.js'
import { untilAborted, type CliContext } from './io.js'
import { createLogHandler, DAPHNE_LOG_FORMAT, verbosityLevel } from './log-handler.js'
import { createProjectLoader } from './project-loader.js'
import { findSettings } from './settings-loader.js'

/** runworker's flags, as commander hands them over. */
export interface RunworkerOptions {
  /** The CHANNEL_LAYERS alias to receive from (Channels' `--layer`). */
  layer?: string
  settings?: string
  verbosity?: number
  /** Seconds the messages in hand get to finish after SIGINT/SIGTERM. */
  applicationCloseTimeout?: number
}

// Channels logs on `django.channels.worker`; the framework's Worker logs on this one too.
const logger = getLogger('channels.worker')

/** Run a worker until SIGINT/SIGTERM; resolves to the exit code. */
export async function runworker(
  channels: string[],
  options: RunworkerOptions,
  ctx: CliContext,
): Promise<number> {
  const level = verbosityLevel(options.verbosity)
  const closeTimeout = options.applicationCloseTimeout ?? 10
  if (closeTimeout < 0)
    throw new CommandError('argument --application-close-timeout: must not be negative', {
      exitCode: 2,
    })
  // The names first: a typo fails before anything is loaded.
  let names: string[]
  try {
    names = workerChannels(channels)
  } catch (error) {
    throw new CommandError(`argument channels: ${(error as Error).message}`, { exitCode: 2 })
  }
  const location = findSettings(options.settings, ctx.env, ctx.cwd)
  process.setSourceMapsEnabled(true)
  const previousHandler = setLogHandler(
    createLogHandler(ctx, { minLevel: level, format: DAPHNE_LOG_FORMAT }),
  )
  let routed: Application | undefined
  const loader = await createProjectLoader({
    projectDir: location.projectDir,
    settingsFile: location.file,
    color: ctx.color,
    checks: (settings) => {
      const outcome = systemCheck(settings, { projectDir: location.projectDir })
      if (outcome.issues > 0) logger.warn(outcome.text)
    },
    // The application as ASGI_APPLICATION names it, for the routing check below.
    wrap: (app) => (routed = app),
  })
  try {
    const loaded = await loader.load({ settings: true })
    // Loaded once: release esbuild now.
    await loader.dispose()
    if (!loaded.ok) throw new CommandError(loaded.message)
    const alias = options.layer ?? DEFAULT_CHANNEL_LAYER
    const layer = workerLayer(alias)
    if (routed !== undefined) checkRouting(routed, names)

    const shutdown = ctx.shutdown()
    const worker = new Worker({
      application: loaded.generation.app,
      channels: names,
      channelLayer: layer,
      applicationCloseTimeout: closeTimeout * 1000,
    })
    logger.info(`Running worker for channels [${names.map((name) => `'${name}'`).join(', ')}]`)
    const running = worker.run()
    const stopped = await Promise.race([
      untilAborted(shutdown).then(() => true),
      running.then(
        () => false,
        () => false,
      ),
    ])
    if (stopped) {
      const busy = worker.busy
      const reason = typeof shutdown.reason === 'string' ? ` (${shutdown.reason})` : ''
      logger.info(
        `Stopping worker${reason}: no more messages are taken` +
          (busy === 0 ? '.' : `; waiting for ${busy} being handled (at most ${closeTimeout} s).`),
      )
      worker.stop()
    }
    try {
      await running
    } catch (error) {
      // The worker logged why, with the stack.
      throw new CommandError(`The worker stopped: ${(error as Error).message}`, { cause: error })
    }
    logger.info('Worker stopped.')
    return 0
  } finally {
    await loader.dispose()
    await channelLayers.closeAll().catch((error: unknown) => {
      logger.error('Closing the channel layers failed', error)
    })
    setLogHandler(previousHandler)
  }
}

/**
 * The layer for `alias`: configured, and one other processes can send to. Channels says "You
 * do not have any CHANNEL_LAYERS configured." for a missing alias too; we name it.
 */
function workerLayer(alias: string): ChannelLayer {
  const configs = channelLayers.configs
  const aliases = Object.keys(configs)
  if (aliases.length === 0) {
    throw new CommandError('You do not have any CHANNEL_LAYERS configured.')
  }
  const layer = channelLayers.get(alias)
  if (layer === null) {
    throw new CommandError(
      `You do not have a channel layer '${alias}' in CHANNEL_LAYERS ` +
        `(configured: ${aliases.map((a) => `'${a}'`).join(', ')}).`,
    )
  }
  if (layer instanceof InMemoryChannelLayer) {
    const backend = configs[alias]?.BACKEND
    const named = typeof backend === 'string' ? backend : layer.constructor.name
    throw new CommandError(
      `runworker cannot use the in-memory channel layer (CHANNEL_LAYERS '${alias}': ${named}): ` +
        "it lives inside one process, so nothing else could send to this worker's channels. " +
        'Configure a layer processes share, such as channels_redis.core.RedisChannelLayer ' +
        '(README: "Channel layers").',
    )
  }
  if (layer instanceof RedisPubSubChannelLayer) {
    logger.warn(
      'The pub/sub layer hands a message only to a process subscribed when it is published: ' +
        'messages sent while no worker runs, or not yet handled when this one stops, are lost. ' +
        'channels_redis.core.RedisChannelLayer keeps them in Redis until a worker takes them.',
    )
  }
  return layer
}

/**
 * Refuse channels the application cannot route, where that can be seen: a ProtocolTypeRouter
 * without `channel`, or a ChannelNameRouter under it that lacks a name. (Channels finds out on
 * each message, and logs it every time.) Anything else (middleware, a function) is not looked into.
 */
function checkRouting(app: Application, channels: readonly string[]): void {
  let inner: unknown = app
  while (inner instanceof BaseMiddleware) inner = inner.inner
  if (!(inner instanceof ProtocolTypeRouter)) return
  const mapping = inner.applicationMapping as Record<string, unknown>
  let channelApp = mapping.channel
  if (channelApp === undefined) {
    const types = Object.keys(mapping)
      .map((type) => `'${type}'`)
      .join(', ')
    throw new CommandError(
      `ASGI_APPLICATION routes no 'channel' scopes (its ProtocolTypeRouter has ${types}). ` +
        `Route the worker's channels under 'channel': new ProtocolTypeRouter({ …, channel: ` +
        `new ChannelNameRouter({ '${channels[0]}': MyConsumer.asAsgi() }) }).`,
    )
  }
  while (channelApp instanceof BaseMiddleware) channelApp = channelApp.inner
  if (!(channelApp instanceof ChannelNameRouter)) return
  const routes = channelApp.applicationMapping
  const missing = channels.filter(
    (name) => !Object.hasOwn(routes, name) || routes[name] === undefined,
  )
  if (missing.length === 0) return
  const known = Object.keys(routes)
  throw new CommandError(
    `No application configured for channel name ${missing.map((m) => `'${m}'`).join(', ')}: ` +
      `ASGI_APPLICATION's ChannelNameRouter routes ` +
      (known.length === 0 ? 'none.' : `${known.map((k) => `'${k}'`).join(', ')}.`),
  )
}
