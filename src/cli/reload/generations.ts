/**
 * Generations of user code. Each successful (re)load yields `{ id, app, settings }`; the newest
 * one serves new connections. A failed build or evaluation keeps the last good generation. A
 * change to the settings module rebuilds the settings first (and lets the caller swap the channel
 * layer), then the application; anything else rebuilds only the application.
 * @module
 */
import type { Application } from '../../asgi/types.js'
import { CommandError } from '../errors.js'
import { pickExport, type AppReference } from '../app-path.js'
import { settingsFromExports, type ProjectSettings } from '../settings-loader.js'
import type { Bundler, BuildResult } from './bundler.js'
import { evaluateBundle } from './evaluate.js'

/** One loaded version of the user's code. */
export interface Generation {
  readonly id: number
  readonly app: Application
  readonly settings: ProjectSettings
}

/** What a load attempt produced. */
export type LoadOutcome =
  { ok: true; generation: Generation; settingsChanged: boolean } | { ok: false; message: string }

/** The seams a loader needs; runserver wires them to the framework, tests to fakes. */
export interface GenerationLoaderOptions {
  /** Builds the settings module; omitted when the application is given without settings. */
  settingsBundler?: Bundler
  /** Creates the bundler for the module holding the application (again if ASGI_APPLICATION moves). */
  createAppBundler: (entry: string) => Promise<Bundler>
  /** Which export of which module (after settings are known), or the application itself. */
  appReference: (settings: ProjectSettings) => AppReference | Application
  /**
   * Make `next` the active settings (and channel layers). Returns a function that undoes it, used
   * when the application then fails to load.
   */
  applySettings?: (next: ProjectSettings, previous: ProjectSettings | undefined) => () => void
  /** Wrap the loaded application (static files); runs once per generation. */
  wrap?: (app: Application, settings: ProjectSettings) => Application
}

/** Loads and keeps generations; `current` is the last good one. */
export class GenerationLoader {
  current: Generation | undefined
  /** Project files the last builds read: a change to one of these needs a reload. */
  readonly settingsInputs = new Set<string>()
  readonly appInputs = new Set<string>()
  /** Files named by the last failed build (a syntax error in a new file, say). */
  readonly failedFiles = new Set<string>()
  lastFailed = false
  private nextId = 1
  private appBundler: Bundler | undefined

  constructor(private readonly options: GenerationLoaderOptions) {}

  /** Load a new generation; `settings: true` rebuilds the settings module too. */
  async load({ settings = false }: { settings?: boolean } = {}): Promise<LoadOutcome> {
    const previous = this.current
    let nextSettings = previous?.settings
    let undo: (() => void) | undefined
    const settingsChanged = settings || nextSettings === undefined
    if (settingsChanged) {
      const result = await this.loadSettings()
      if (!result.ok) return this.fail(result.message)
      nextSettings = result.settings
      try {
        undo = this.options.applySettings?.(nextSettings, previous?.settings)
      } catch (error) {
        return this.fail(error instanceof Error ? error.message : String(error))
      }
    }
    const loaded = await this.loadApp(nextSettings ?? {})
    if (!loaded.ok) {
      undo?.()
      return this.fail(loaded.message)
    }
    this.lastFailed = false
    this.failedFiles.clear()
    const generation: Generation = {
      id: this.nextId++,
      app: loaded.app,
      settings: nextSettings ?? {},
    }
    this.current = generation
    return { ok: true, generation, settingsChanged }
  }

  /** Release the esbuild contexts. */
  async dispose(): Promise<void> {
    await Promise.all([this.options.settingsBundler?.dispose(), this.appBundler?.dispose()])
  }

  private async loadSettings(): Promise<
    { ok: true; settings: ProjectSettings } | { ok: false; message: string }
  > {
    const bundler = this.options.settingsBundler
    if (!bundler) return { ok: true, settings: {} }
    const built = await bundler.build()
    if (!this.track(built, this.settingsInputs)) return { ok: false, message: built.message }
    try {
      return { ok: true, settings: settingsFromExports(evaluateBundle(built.code, built.filename)) }
    } catch (error) {
      return { ok: false, message: describeEvaluationError(error, bundler.entry) }
    }
  }

  private async loadApp(
    settings: ProjectSettings,
  ): Promise<{ ok: true; app: Application } | { ok: false; message: string }> {
    let ref: AppReference
    try {
      const found = this.options.appReference(settings)
      if (typeof found === 'function') return { ok: true, app: this.wrapApp(found, settings) }
      ref = found
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) }
    }
    if (this.appBundler?.entry !== ref.file) {
      await this.appBundler?.dispose()
      this.appBundler = undefined
      this.appBundler = await this.options.createAppBundler(ref.file)
    }
    const bundler = this.appBundler
    const built = await bundler.build()
    if (!this.track(built, this.appInputs)) return { ok: false, message: built.message }
    try {
      const exports = evaluateBundle(built.code, built.filename)
      const app = pickExport(exports, ref)
      if (typeof app !== 'function') {
        throw new CommandError(
          `'${ref.attribute.join('.')}' in ${ref.moduleName} is not an ASGI application (got ${typeof app}).`,
        )
      }
      return { ok: true, app: this.wrapApp(app as Application, settings) }
    } catch (error) {
      return { ok: false, message: describeEvaluationError(error, bundler.entry) }
    }
  }

  private wrapApp(app: Application, settings: ProjectSettings): Application {
    return this.options.wrap ? this.options.wrap(app, settings) : app
  }

  private track(
    built: BuildResult,
    inputs: Set<string>,
  ): built is Extract<BuildResult, { ok: true }> {
    if (built.ok) {
      inputs.clear()
      for (const input of built.inputs) inputs.add(input)
      return true
    }
    for (const file of built.files) this.failedFiles.add(file)
    return false
  }

  private fail(message: string): LoadOutcome {
    this.lastFailed = true
    return { ok: false, message }
  }
}

function describeEvaluationError(error: unknown, entry: string): string {
  if (error instanceof CommandError) return error.message
  if (error instanceof Error)
    return `Error while loading ${entry}:\n${error.stack ?? error.message}`
  return `Error while loading ${entry}: ${String(error)}`
}
