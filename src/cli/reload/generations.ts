/**
 * Generations of user code. Each successful (re)load yields `{ id, app, settings }`; the newest
 * one serves new connections. A failed build or evaluation keeps the last good generation. A
 * change to the settings module rebuilds the settings first (and lets the caller swap the channel
 * layer), then the application; anything else rebuilds only the application.
 *
 * With `hot` (runserver), each evaluation gets its own timers and `import.meta.hot` (scope.ts),
 * and a generation retires once a newer one serves and its last application instance (connection,
 * lifespan) has ended: its timers are cleared and its dispose callbacks run. A settings
 * evaluation retires with the last generation built on it.
 * @module
 */
import type { Application } from '../../framework/asgi/types.js'
import { CommandError } from '../errors.js'
import { pickExport, type AppReference } from '../app-path.js'
import { settingsFromExports, type ProjectSettings } from '../settings-loader.js'
import type { Bundler, BuildResult } from './bundler.js'
import { evaluateBundle } from './evaluate.js'
import { ModuleScope } from './scope.js'

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
  /** Scoped timers, `import.meta.hot` and retirement (runserver); serve evaluates once, plainly. */
  hot?: boolean
}

/** An application instance's hold on the generation it started in. */
export interface Lease {
  app: Application
  /** The generation's id. */
  generation: number
  /** The instance ended; idempotent. */
  release(): void
}

/** A generation's bookkeeping: running instances and the scopes its code runs in. */
interface LiveGeneration {
  generation: Generation
  instances: number
  scopes: ModuleScope[]
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
  private readonly live = new Map<Generation, LiveGeneration>()
  /** The scope the current settings were evaluated in. */
  private settingsScope: ModuleScope | undefined

  constructor(private readonly options: GenerationLoaderOptions) {}

  /** Load a new generation; `settings: true` rebuilds the settings module too. */
  async load({ settings = false }: { settings?: boolean } = {}): Promise<LoadOutcome> {
    const previous = this.current
    let nextSettings = previous?.settings
    let undo: (() => void) | undefined
    let settingsScope = this.settingsScope
    const id = this.nextId
    const settingsChanged = settings || nextSettings === undefined
    if (settingsChanged) {
      const result = await this.loadSettings(id)
      if (!result.ok) return this.fail(result.message)
      nextSettings = result.settings
      settingsScope = result.scope
      try {
        undo = this.options.applySettings?.(nextSettings, previous?.settings)
      } catch (error) {
        void result.scope?.retire()
        return this.fail(error instanceof Error ? error.message : String(error))
      }
    }
    const loaded = await this.loadApp(nextSettings ?? {}, id)
    if (!loaded.ok) {
      undo?.()
      if (settingsScope !== this.settingsScope) void settingsScope?.retire()
      return this.fail(loaded.message)
    }
    this.lastFailed = false
    this.failedFiles.clear()
    const generation: Generation = {
      id: this.nextId++,
      app: loaded.app,
      settings: nextSettings ?? {},
    }
    this.settingsScope = settingsScope
    const scopes = [settingsScope, loaded.scope].filter((s): s is ModuleScope => s !== undefined)
    for (const scope of scopes) scope.hold()
    if (this.options.hot === true) this.live.set(generation, { generation, instances: 0, scopes })
    this.current = generation
    const replaced = previous && this.live.get(previous)
    if (replaced && replaced.instances === 0) void this.retire(replaced)
    return { ok: true, generation, settingsChanged }
  }

  /**
   * Hand a new application instance the current generation; the generation stays alive (its
   * timers running) until every lease on it is released and a newer generation serves.
   */
  lease(): Lease {
    const generation = this.current
    if (!generation) throw new Error('No application generation loaded')
    const live = this.live.get(generation)
    if (!live) return { app: generation.app, generation: generation.id, release: () => undefined }
    live.instances++
    let released = false
    return {
      app: generation.app,
      generation: generation.id,
      release: () => {
        if (released) return
        released = true
        live.instances--
        if (live.instances === 0 && this.current !== generation) void this.retire(live)
      },
    }
  }

  /**
   * The generations alive, oldest first, with their running instances (the dashboard's view).
   * Without `hot` only the current one, whose instances are not counted.
   */
  alive(): { id: number; instances: number; current: boolean }[] {
    const rows = [...this.live.values()].map(({ generation, instances }) => ({
      id: generation.id,
      instances,
      current: generation === this.current,
    }))
    if (rows.length === 0 && this.current)
      rows.push({ id: this.current.id, instances: 0, current: true })
    return rows
  }

  /**
   * Retire every generation, the current one too (runserver is stopping). Resolves false when
   * dispose callbacks are still running after `limitMs`: a hung one must not hold the stop up.
   */
  async retireAll(limitMs: number): Promise<boolean> {
    const pending = Promise.all([...this.live.values()].map((live) => this.retire(live)))
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<false>((resolve) => (timer = setTimeout(resolve, limitMs, false)))
    try {
      return await Promise.race([pending.then(() => true), limit])
    } finally {
      clearTimeout(timer)
    }
  }

  private retire(live: LiveGeneration): Promise<unknown> {
    this.live.delete(live.generation)
    return Promise.all(live.scopes.map((scope) => scope.release()))
  }

  /** A scope for one evaluation, when generations are hot. */
  private newScope(label: string): ModuleScope | undefined {
    return this.options.hot === true ? new ModuleScope(label) : undefined
  }

  /** Release the esbuild contexts. */
  async dispose(): Promise<void> {
    await Promise.all([this.options.settingsBundler?.dispose(), this.appBundler?.dispose()])
  }

  private async loadSettings(
    id: number,
  ): Promise<
    | { ok: true; settings: ProjectSettings; scope: ModuleScope | undefined }
    | { ok: false; message: string }
  > {
    const bundler = this.options.settingsBundler
    if (!bundler) return { ok: true, settings: {}, scope: undefined }
    const built = await bundler.build()
    if (!this.track(built, this.settingsInputs)) return { ok: false, message: built.message }
    const scope = this.newScope(`the settings of generation ${id}`)
    try {
      const exports = evaluateBundle(built.code, built.filename, scope?.bindings)
      return { ok: true, settings: settingsFromExports(exports), scope }
    } catch (error) {
      void scope?.retire()
      return { ok: false, message: describeEvaluationError(error, bundler.entry) }
    }
  }

  private async loadApp(
    settings: ProjectSettings,
    id: number,
  ): Promise<{ ok: true; app: Application; scope?: ModuleScope } | { ok: false; message: string }> {
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
    const scope = this.newScope(`generation ${id} of ${ref.moduleName}`)
    try {
      const exports = evaluateBundle(built.code, built.filename, scope?.bindings)
      const app = pickExport(exports, ref)
      return { ok: true, app: this.wrapApp(app, settings), scope }
    } catch (error) {
      void scope?.retire()
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
