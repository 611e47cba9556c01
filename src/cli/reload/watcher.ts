/**
 * The project watcher: chokidar over the project folder, the usual folders ignored, events
 * debounced into one batch of changed paths. This is the only module that configures chokidar.
 * @module
 */
import type { FSWatcher } from 'chokidar'

/**
 * chokidar loads while the server starts (its import is a good part of cold start, and nothing
 * needs it before the first build is served).
 */
let chokidar: Promise<typeof import('chokidar')> | undefined
export function preloadWatcher(): Promise<typeof import('chokidar')> {
  chokidar ??= import('chokidar')
  return chokidar
}

/** Folders never watched (vite's defaults plus our own bundle cache). */
export const IGNORED_DIRS = ['node_modules', '.git', 'dist', '.channels']

/** True for paths inside an ignored folder. */
export function isIgnoredPath(path: string): boolean {
  return path.split(/[\\/]/).some((part) => IGNORED_DIRS.includes(part))
}

/** A running watcher. */
export interface ProjectWatcher {
  /** Resolves once the initial scan is done (changes after this are reported). */
  ready: Promise<void>
  close(): Promise<void>
}

/** Watch `dir`; `onChange` gets each debounced batch of absolute paths. */
export function watchProject(
  dir: string,
  onChange: (paths: string[]) => void,
  { debounceMs = 15 }: { debounceMs?: number } = {},
): ProjectWatcher {
  const pending = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  const record = (path: string) => {
    pending.add(path)
    clearTimeout(timer)
    // Editors write a file in several steps (truncate, write, rename): wait for the burst to end.
    timer = setTimeout(() => {
      const batch = [...pending]
      pending.clear()
      onChange(batch)
    }, debounceMs)
  }
  const created = preloadWatcher().then(({ watch }) => {
    const watcher = watch(dir, {
      ignoreInitial: true,
      ignored: (path: string) =>
        isIgnoredPath(path.startsWith(dir) ? path.slice(dir.length) : path),
    })
    watcher.on('add', record).on('change', record).on('unlink', record)
    return watcher
  })
  const ready = created.then(
    (watcher: FSWatcher) => new Promise<void>((resolve) => watcher.once('ready', () => resolve())),
  )
  return {
    ready,
    async close() {
      clearTimeout(timer)
      await (await created).close()
    },
  }
}
