/**
 * Which folders serve STATIC_URL for a project: STATICFILES_DIRS (relative to the project
 * folder), then every app folder's `static/` (INSTALLED_APPS when set, else each top-level folder
 * of the project that has one), like Django's FileSystemFinder + AppDirectoriesFinder.
 * @module
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

const SKIP = new Set(['node_modules', 'dist', 'static'])

/** Static roots for a project folder and its settings (absolute, existing, de-duplicated). */
export function staticRoots(projectDir: string, settings: Record<string, unknown>): string[] {
  const roots: string[] = []
  const dirs = settings.STATICFILES_DIRS
  if (Array.isArray(dirs)) {
    for (const dir of dirs as unknown[]) {
      // Django also accepts (prefix, path) pairs; the prefix is not supported here.
      const path: unknown = Array.isArray(dir) ? (dir as unknown[])[1] : dir
      if (typeof path === 'string') roots.push(resolve(projectDir, path))
    }
  }
  const apps = settings.INSTALLED_APPS
  const appDirs = Array.isArray(apps)
    ? apps
        .filter((a): a is string => typeof a === 'string')
        .map((a) => join(projectDir, ...a.split('.')))
    : topLevelFolders(projectDir)
  for (const dir of appDirs) roots.push(join(dir, 'static'))
  return [...new Set(roots)].filter((root) => isDir(root))
}

function topLevelFolders(projectDir: string): string[] {
  try {
    return readdirSync(projectDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name))
      .map((e) => join(projectDir, e.name))
  } catch {
    return []
  }
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory()
}
