/**
 * The reload loop: watch the project, decide which batches matter, rebuild (settings too when a
 * settings input changed), and report "Detected changes in 'x'. Reloading..." and
 * "Reloaded in N ms (generation G)". Reloads never overlap; changes arriving during one are
 * coalesced into the next.
 * @module
 */
import { statSync } from 'node:fs'
import { extname, relative } from 'node:path'
import type { GenerationLoader, LoadOutcome } from './generations.js'
import { watchProject, type ProjectWatcher } from './watcher.js'

/** Source files whose change may matter when the last build failed (its inputs are unknown). */
export const CODE_EXTENSIONS = new Set([
  '.ts',
  '.tsx',
  '.mts',
  '.cts',
  '.js',
  '.mjs',
  '.cjs',
  '.json',
])

/**
 * chokidar drops a second 'change' for the same file within 50 ms (its `_throttle`), and a save
 * during a build may be read half-way: after each reload, look again once that window passed.
 */
const RECHECK_MS = 60

/** mtimes of every file the current bundles depend on (take one right after a build). */
export function snapshot(loader: GenerationLoader): Map<string, number> {
  const times = new Map<string, number>()
  for (const set of [loader.settingsInputs, loader.appInputs, loader.failedFiles]) {
    for (const path of set) times.set(path, mtime(path))
  }
  return times
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return -1
  }
}

/** What one batch of changes asks for. */
export type ReloadKind = 'none' | 'app' | 'all'

/**
 * Pure filter: a settings input → reload everything; an app input (or, after a failed build, any
 * code file) → reload the application; anything else (static files, docs) → nothing.
 */
export function classifyChanges(paths: readonly string[], loader: GenerationLoader): ReloadKind {
  let kind: ReloadKind = 'none'
  for (const path of paths) {
    if (loader.settingsInputs.has(path)) return 'all'
    if (loader.appInputs.has(path) || loader.failedFiles.has(path)) kind = 'app'
    else if (loader.lastFailed && CODE_EXTENSIONS.has(extname(path))) kind = 'app'
  }
  return kind
}

/** Where the reloader reports. */
export interface ReloaderReporter {
  info(line: string): void
  error(text: string): void
  /** Called after every successful reload (runserver swaps layers, tests observe). */
  reloaded?(outcome: Extract<LoadOutcome, { ok: true }>, durationMs: number): void
  /** Called after every failed reload, with the error and its code frame. */
  failed?(message: string, durationMs: number): void
}

/** A running reload loop. */
export interface Reloader {
  ready: Promise<void>
  /** Resolves once no reload is running or queued. */
  idle(): Promise<void>
  close(): Promise<void>
}

/**
 * Start watching `projectDir` and reloading through `loader`. `initial` is the inputs' mtimes as
 * the current generation was built (default: now); anything saved since is reloaded once the
 * watcher is ready.
 */
export function startReloader(
  projectDir: string,
  loader: GenerationLoader,
  reporter: ReloaderReporter,
  now: () => number = () => performance.now(),
  initial: Map<string, number> = snapshot(loader),
): Reloader {
  let running: Promise<void> | undefined
  let recheck: NodeJS.Timeout | undefined
  /** The mtime of each input when the last build started: the version being served. */
  const built = new Map<string, number>()
  let queued: { paths: Set<string>; kind: ReloadKind } | undefined

  const run = async (paths: string[], kind: ReloadKind): Promise<void> => {
    const names = paths.map((p) => `'${relative(projectDir, p)}'`).join(', ')
    reporter.info(`Detected changes in ${names}. Reloading...`)
    const started = now()
    for (const [path, time] of snapshot(loader)) built.set(path, time)
    const outcome = await loader.load({ settings: kind === 'all' })
    clearTimeout(recheck)
    recheck = setTimeout(() => {
      const changed = [...built]
        .filter(([path, time]) => mtime(path) !== time)
        .map(([path]) => path)
      if (changed.length > 0) onChange(changed)
    }, RECHECK_MS).unref()
    const ms = Math.round(now() - started)
    if (outcome.ok) {
      reporter.info(`Reloaded in ${ms} ms (generation ${outcome.generation.id})`)
      reporter.reloaded?.(outcome, ms)
    } else {
      reporter.error(outcome.message)
      reporter.failed?.(outcome.message, ms)
      const current = loader.current
      reporter.info(
        current
          ? `Still serving generation ${current.id}; fix the error and save again.`
          : 'No application loaded yet; fix the error and save again.',
      )
    }
  }

  const drain = async (): Promise<void> => {
    while (queued) {
      const { paths, kind } = queued
      queued = undefined
      await run([...paths], kind)
    }
    running = undefined
  }

  const onChange = (changedPaths: string[]) => {
    // A change already built (seen by both chokidar and the recheck) needs no second reload.
    const paths = changedPaths.filter((p) => !built.has(p) || built.get(p) !== mtime(p))
    const kind = classifyChanges(paths, loader)
    if (kind === 'none') return
    if (!queued) queued = { paths: new Set(), kind }
    // Name only the files that matter in "Detected changes in …".
    for (const p of paths) if (classifyChanges([p], loader) !== 'none') queued.paths.add(p)
    if (kind === 'all') queued.kind = 'all'
    running ??= drain()
  }

  // A save between the first build and the end of chokidar's initial scan raises no event
  // (ignoreInitial): compare against the inputs as they were built.
  const watcher: ProjectWatcher = watchProject(projectDir, onChange)
  const ready = watcher.ready.then(() => {
    const changed = [...initial].filter(([path, time]) => mtime(path) !== time).map(([p]) => p)
    if (changed.length > 0) onChange(changed)
  })
  return {
    ready,
    async idle() {
      while (running) await running
    },
    async close() {
      clearTimeout(recheck)
      await watcher.close()
      while (running) await running
    },
  }
}
