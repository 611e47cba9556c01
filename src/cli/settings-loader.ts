/**
 * Finding and loading the project's settings module: `--settings PATH`, then the
 * `CHANNELS_SETTINGS_MODULE` environment variable, then `./settings.ts|.js|.mjs`. TypeScript needs
 * no build step: the module is bundled with esbuild and evaluated like any generation.
 * @module
 */
import { existsSync, statSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import { CommandError } from './errors.js'
import type { Bundler } from './reload/bundler.js'
import { evaluateBundle } from './reload/evaluate.js'

/** The settings object as a project defines it (Django key names). */
export type ProjectSettings = Record<string, unknown>

/** Environment variable naming the settings module (Django's DJANGO_SETTINGS_MODULE). */
export const SETTINGS_ENV = 'CHANNELS_SETTINGS_MODULE'

const SETTINGS_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.cjs']
const DEFAULT_NAMES = ['settings.ts', 'settings.js', 'settings.mjs']

/** Where the settings were found and how to name them in the banner. */
export interface SettingsLocation {
  /** Absolute path of the settings module. */
  file: string
  /**
   * The project folder, against which ASGI_APPLICATION and STATICFILES_DIRS resolve and which is
   * watched: the working folder when the settings lie inside it (Django's manage.py folder), else
   * the settings module's own folder.
   */
  projectDir: string
  /** How the banner names it: relative to cwd when inside it (`settings.ts`). */
  display: string
}

/** Locate the settings module for a command run in `cwd`. */
export function findSettings(
  option: string | undefined,
  env: Record<string, string | undefined>,
  cwd: string,
): SettingsLocation {
  const given = option ?? env[SETTINGS_ENV]
  if (given !== undefined && given !== '') {
    const file = resolveModuleSpec(given, cwd)
    if (file === undefined) {
      const source = option !== undefined ? '--settings' : SETTINGS_ENV
      throw new CommandError(`Cannot find the settings module '${given}' (from ${source}).`)
    }
    return location(file, cwd)
  }
  for (const name of DEFAULT_NAMES) {
    const file = resolve(cwd, name)
    if (isFile(file)) return location(file, cwd)
  }
  throw new CommandError(
    `No settings found: pass --settings PATH, set ${SETTINGS_ENV}, or run in a folder with ` +
      `settings.ts (looked in ${cwd}).`,
  )
}

/**
 * A file path (`conf/settings.ts`, `conf/settings`) or a Django-style dotted name
 * (`mysite.settings`) → an existing absolute file, or undefined.
 */
export function resolveModuleSpec(spec: string, baseDir: string): string | undefined {
  const candidates = [spec]
  if (!spec.includes('/') && !spec.includes('\\') && /^[\w.]+$/.test(spec)) {
    candidates.push(spec.replaceAll('.', '/'))
  }
  for (const candidate of candidates) {
    const base = isAbsolute(candidate) ? candidate : resolve(baseDir, candidate)
    if (isFile(base)) return base
    for (const ext of SETTINGS_EXTENSIONS) {
      if (isFile(base + ext)) return base + ext
    }
  }
  return undefined
}

/** Build and evaluate the settings module; its default export, or its UPPER_CASE named exports. */
export async function loadSettings(bundler: Bundler): Promise<ProjectSettings> {
  const built = await bundler.build()
  if (!built.ok) throw new CommandError(built.message)
  const exports = evaluateBundle(built.code, built.filename)
  return settingsFromExports(exports)
}

/** Django reads only upper-case names from a settings module; a default export wins. */
export function settingsFromExports(exports: Record<string, unknown>): ProjectSettings {
  const fallback = exports.default
  if (fallback !== null && typeof fallback === 'object') return { ...(fallback as ProjectSettings) }
  return Object.fromEntries(
    Object.entries(exports).filter(([key]) => /^[A-Z][A-Z0-9_]*$/.test(key)),
  )
}

function location(file: string, cwd: string): SettingsLocation {
  const rel = relative(cwd, file)
  const outside = rel.startsWith('..') || isAbsolute(rel)
  return { file, projectDir: outside ? dirname(file) : cwd, display: outside ? file : rel }
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile()
}
