/**
 * Wires a GenerationLoader to a real project: settings and application bundlers, ASGI_APPLICATION
 * resolution, the framework's settings and channel layers, and (for runserver) static files.
 * Shared by runserver (with reload) and serve (one generation). With settings, every HTTP request
 * first passes Django's ALLOWED_HOSTS check (static files included).
 * @module
 */
import type { Application } from '../framework/asgi/types.js'
import { channelLayers, sameChannelLayerConfigs } from '../framework/layers/index.js'
import { AllowedHostsMiddleware } from '../framework/middleware/allowed-hosts.js'
import type { ChannelLayer } from '../framework/layers/types.js'
import { configureSettings } from '../framework/settings/index.js'
import {
  resolveAppReference,
  resolveAsgiApplicationSetting,
  type AppReference,
} from './app-path.js'
import { createBundler } from './reload/bundler.js'
import { GenerationLoader } from './reload/generations.js'
import type { ProjectSettings } from './settings-loader.js'

/** Options for {@link createProjectLoader}. */
export interface ProjectLoaderOptions {
  projectDir: string
  /** The settings module; absent for `serve app.ts:application` without settings. */
  settingsFile?: string
  /** `module:attr` overriding ASGI_APPLICATION (serve's positional argument), relative to `baseDir`. */
  application?: { spec: string; baseDir: string }
  color: boolean
  wrap?: (app: Application, settings: ProjectSettings) => Application
  /**
   * The system checks, run on every settings load before the settings apply; a SystemCheckError
   * fails the load (src/cli/checks.ts).
   */
  checks?: (settings: ProjectSettings) => void
  /** Generations retire and clear their timers (runserver); see GenerationLoaderOptions.hot. */
  hot?: boolean
}

/** A loader for the project's settings and application. */
export async function createProjectLoader(
  options: ProjectLoaderOptions,
): Promise<GenerationLoader> {
  const { projectDir, color } = options
  const settingsBundler = options.settingsFile
    ? await createBundler(options.settingsFile, { projectDir, color })
    : undefined
  return new GenerationLoader({
    settingsBundler,
    createAppBundler: (entry) => createBundler(entry, { projectDir, color }),
    appReference: (settings) => appReference(settings, options),
    applySettings: (next, previous) => {
      // Django projects compute BASE_DIR from __file__; a bundle can't, so provide it.
      if (next.BASE_DIR === undefined) next.BASE_DIR = projectDir
      options.checks?.(next)
      return applySettings(next, previous)
    },
    wrap: (app, settings) => wrapApp(app, settings, options),
    hot: options.hot,
  })
}

/**
 * The generation's application as served: the command's own wrapper (static files), behind the
 * ALLOWED_HOSTS check when there are settings. An ASGI wrapper rather than a server option, so
 * each generation checks against its own settings (runserver reloads them) and the 400 is
 * Django's page and log line.
 */
function wrapApp(
  app: Application,
  settings: ProjectSettings,
  options: ProjectLoaderOptions,
): Application {
  const wrapped = options.wrap ? options.wrap(app, settings) : app
  if (!options.settingsFile) return wrapped
  return new AllowedHostsMiddleware(wrapped, {
    allowedHosts: (settings.ALLOWED_HOSTS ?? []) as readonly string[],
    debug: settings.DEBUG === true,
  })
}

function appReference(
  settings: ProjectSettings,
  options: ProjectLoaderOptions,
): AppReference | Application {
  if (options.application) {
    return resolveAppReference(options.application.spec, options.application.baseDir, 'module')
  }
  const value = settings.ASGI_APPLICATION
  // The settings may hold the application itself: it then reloads with the settings bundle.
  if (typeof value === 'function') return value as Application
  return resolveAsgiApplicationSetting(value, options.projectDir)
}

/**
 * Install `next` as the process settings and make sure its channel layers can be built, before
 * anything serves with them. A CHANNEL_LAYERS value equal to the previous one is kept by identity,
 * so the running layers (and every group membership) survive a settings reload.
 */
export function applySettings(
  next: ProjectSettings,
  previous: ProjectSettings | undefined,
): () => void {
  if (previous && sameChannelLayerConfigs(next.CHANNEL_LAYERS, previous.CHANNEL_LAYERS)) {
    next.CHANNEL_LAYERS = previous.CHANNEL_LAYERS
  }
  const oldLayers = new Map<string, ChannelLayer>(channelLayers.backends)
  const before = configureSettings(next)
  const undo = () => {
    configureSettings(before)
    for (const [alias, layer] of oldLayers) channelLayers.set(alias, layer)
  }
  try {
    // New layers first: a bad BACKEND fails this reload instead of a later connection.
    const aliases = Object.keys((next.CHANNEL_LAYERS as Record<string, unknown> | undefined) ?? {})
    for (const alias of aliases) channelLayers.get(alias)
  } catch (error) {
    undo()
    throw error
  }
  return undo
}
