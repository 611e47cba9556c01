/**
 * The project watcher: chokidar over the project folder, the usual folders ignored, events
 * debounced into one batch of changed paths. This is the only module that configures chokidar.
 * @module
 */
import { watch } from 'chokidar'

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
  const watcher = watch(dir, {
    ignoreInitial: true,
    ignored: (path: string) => isIgnoredPath(path.startsWith(dir) ? path.slice(dir.length) : path),
  })
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()))
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
  watcher.on('add', record).on('change', record).on('unlink', record)
  return {
    ready,
    async close() {
      clearTimeout(timer)
      await watcher.close()
    },
  }
}
