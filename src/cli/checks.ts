/**
 * Django's system check framework for the settings a server starts with: each check yields
 * messages with a level and a stable id (listed in src/cli/README.md), printed the way Django's
 * `check` prints them. Errors stop the load (SystemCheckError, exit 1); warnings are printed and
 * the server runs. `SILENCED_SYSTEM_CHECKS` silences ids, as in Django.
 * @module
 */
import { existsSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { layerBackendNames } from '../framework/layers/index.js'
import { databaseVendor } from '../framework/middleware/django/database.js'
import { resolveAsgiApplicationSetting } from './app-path.js'
import { formatCheckReport, SystemCheckError, type CheckMessage } from './check-report.js'
import { CommandError } from './errors.js'
import type { ProjectSettings } from './settings-loader.js'
import { describeValue } from '../util/describe.js'

/** What the checks look at besides the settings. */
export interface SystemCheckOptions {
  /** The project folder: ASGI_APPLICATION and STATICFILES_DIRS resolve against it. */
  projectDir: string
  /** serve's positional application replaces ASGI_APPLICATION, which then is not checked. */
  applicationGiven?: boolean
  /** runserver serves STATICFILES_DIRS: check that they exist. */
  staticfiles?: boolean
}

/** The outcome of a check run that found no error. */
export interface CheckOutcome {
  /** Issues not silenced. */
  issues: number
  silenced: number
  /** Django's report: the warnings, if any, then "System check identified …". */
  text: string
}

/** Every check on `settings`, silenced ones included. */
export function runChecks(settings: ProjectSettings, options: SystemCheckOptions): CheckMessage[] {
  return [
    ...(options.applicationGiven === true
      ? []
      : checkAsgiApplication(settings, options.projectDir)),
    ...checkChannelLayers(settings.CHANNEL_LAYERS),
    ...checkSecretKey(settings),
    ...checkDjangoDatabase(settings, options.projectDir),
    ...(options.staticfiles === true ? checkStaticfilesDirs(settings, options.projectDir) : []),
  ]
}

/**
 * Run the checks and report like Django's `check(display_num_errors=True)`: throw a
 * SystemCheckError when an error is not silenced, else return the report to print.
 */
export function systemCheck(settings: ProjectSettings, options: SystemCheckOptions): CheckOutcome {
  const silencedIds = settings.SILENCED_SYSTEM_CHECKS
  const silencedSet = new Set(Array.isArray(silencedIds) ? silencedIds : [])
  const all = runChecks(settings, options)
  const visible = all.filter((m) => !silencedSet.has(m.id))
  const text = formatCheckReport(visible, all.length - visible.length)
  if (visible.some((m) => m.level === 'error')) throw new SystemCheckError(text)
  return { issues: visible.length, silenced: all.length - visible.length, text }
}

/** channels.E001: ASGI_APPLICATION is set and names a module that exists. */
function checkAsgiApplication(settings: ProjectSettings, projectDir: string): CheckMessage[] {
  const value = settings.ASGI_APPLICATION
  // The settings may hold the application itself: there is no module to find.
  if (typeof value === 'function') return []
  try {
    resolveAsgiApplicationSetting(value, projectDir)
    return []
  } catch (error) {
    if (!(error instanceof CommandError)) throw error
    const example =
      "'mysite.routing.application' for `export const application` in mysite/routing.ts"
    return [
      {
        level: 'error',
        id: 'channels.E001',
        msg: error.message,
        hint:
          typeof value === 'string' && value !== ''
            ? `Module paths resolve against the project folder ${projectDir}: ${example}.`
            : `Set ASGI_APPLICATION in the settings, e.g. ${example}.`,
      },
    ]
  }
}

/** channels.E003: every CHANNEL_LAYERS alias names a BACKEND that can be built. */
function checkChannelLayers(value: unknown): CheckMessage[] {
  if (value === undefined) return []
  const error = (msg: string, hint?: string): CheckMessage => ({
    level: 'error',
    id: 'channels.E003',
    msg,
    ...(hint === undefined ? {} : { hint }),
  })
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = describeValue(value)
    return [
      error(
        `CHANNEL_LAYERS must be an object of aliases, got ${got}.`,
        "For example { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } }.",
      ),
    ]
  }
  const messages: CheckMessage[] = []
  for (const [alias, config] of Object.entries(value as Record<string, unknown>)) {
    if (config === null || typeof config !== 'object') {
      messages.push(error(`CHANNEL_LAYERS['${alias}'] must be an object with a BACKEND.`))
      continue
    }
    const backend = (config as Record<string, unknown>).BACKEND
    if (Object.hasOwn(config, 'ROUTING')) {
      messages.push(
        error(`ROUTING key found for ${alias} - this is no longer needed in Channels 2.`),
      )
    } else if (backend === undefined || backend === null || backend === '') {
      messages.push(error(`No BACKEND specified for ${alias}.`))
    } else if (typeof backend === 'string' && !layerBackendNames().includes(backend)) {
      const known = layerBackendNames()
        .map((name) => `'${name}'`)
        .join(', ')
      messages.push(
        error(
          `Cannot import BACKEND '${backend}' specified for ${alias}.`,
          `Known backends: ${known}. A layer package registers its name with ` +
            'registerLayerBackend() when the settings import it; BACKEND may also be the class.',
        ),
      )
    } else if (typeof backend !== 'string' && typeof backend !== 'function') {
      const primitive = typeof backend === 'number' || typeof backend === 'boolean'
      const shown = primitive ? String(backend) : describeValue(backend)
      messages.push(error(`Cannot import BACKEND ${shown} specified for ${alias}.`))
    }
  }
  return messages
}

/** The prefixes of keys written into project files by startproject (ours and Django's). */
const GENERATED_KEY_PREFIXES = ['channels-insecure-', 'django-insecure-']

/**
 * channels.E004 / E005: with DEBUG off the key signs sessions and cookies for real, so it must be
 * set and must not be the one startproject wrote into the project's (committed) files.
 */
function checkSecretKey(settings: ProjectSettings): CheckMessage[] {
  if (settings.DEBUG === true) return []
  const key = settings.SECRET_KEY
  const fromEnvironment = 'Set a long random value from outside the code (an environment variable).'
  if (typeof key !== 'string' || key === '') {
    return [
      {
        level: 'error',
        id: 'channels.E004',
        msg: 'The SECRET_KEY setting must not be empty when DEBUG is False.',
        hint: fromEnvironment,
      },
    ]
  }
  const prefix = GENERATED_KEY_PREFIXES.find((p) => key.startsWith(p))
  if (prefix === undefined && !key.includes('{{')) return []
  return [
    {
      level: 'error',
      id: 'channels.E005',
      msg:
        prefix === undefined
          ? 'Your SECRET_KEY is a template placeholder.'
          : `Your SECRET_KEY is prefixed with '${prefix}', indicating that it was generated by ` +
            'startproject and is in the project files: it is not secret.',
      hint: fromEnvironment,
    },
  ]
}

const DJANGO_SESSION_ENGINES = new Set([
  'django.contrib.sessions.backends.db',
  'django.contrib.sessions.backends.cached_db',
])

/**
 * channels.E006 / E007 / W006: Django's session engine reads DATABASES['default'] (SQLite or
 * PostgreSQL, the latter through the `pg` package); found here rather than at the first
 * connection. An SQLite file that does not exist is a warning: Django creates it on `migrate`.
 */
function checkDjangoDatabase(settings: ProjectSettings, projectDir: string): CheckMessage[] {
  const engine = settings.SESSION_ENGINE
  if (typeof engine !== 'string' || !DJANGO_SESSION_ENGINES.has(engine)) return []
  const entry = openableDatabase(settings.DATABASES)
  if (typeof entry === 'string') {
    return [
      {
        level: 'error',
        id: 'channels.E006',
        msg: `SESSION_ENGINE ${JSON.stringify(engine)} needs Django's database: ${entry}`,
        hint: "Copy DATABASES from the Django project's settings, or use SESSION_ENGINE 'db' for channels-ts's own table.",
      },
    ]
  }
  if (entry.kind === 'postgresql' && !packageAvailable('pg')) {
    return [
      {
        level: 'error',
        id: 'channels.E007',
        msg: "DATABASES['default'] is PostgreSQL, which needs node-postgres (the 'pg' package).",
        hint: 'npm install pg',
      },
    ]
  }
  if (entry.kind === 'sqlite' && !existsSync(resolve(projectDir, entry.name))) {
    return [
      {
        level: 'warning',
        id: 'channels.W006',
        msg: `Django's SQLite database ${entry.name} does not exist: every session reads as none.`,
        hint: "Point DATABASES['default'].NAME at the Django project's file (after manage.py migrate).",
      },
    ]
  }
  return []
}

/** DATABASES['default'] as a kind and name, or what is wrong with it. */
function openableDatabase(
  databases: unknown,
): { kind: 'sqlite' | 'postgresql'; name: string } | string {
  const entry = (databases as Record<string, unknown> | undefined)?.default
  if (typeof entry !== 'object' || entry === null) return "DATABASES['default'] is not set."
  const { ENGINE: engine, NAME: name } = entry as { ENGINE?: unknown; NAME?: unknown }
  if (typeof name !== 'string' || name === '') return "DATABASES['default'].NAME is empty."
  const kind = typeof engine === 'string' ? databaseVendor(engine) : null
  if (kind !== null) return { kind, name }
  const named = typeof engine === 'string' ? JSON.stringify(engine) : describeValue(engine)
  return (
    `DATABASES['default'].ENGINE is ${named}; 'django.db.backends.sqlite3' and ` +
    "'django.db.backends.postgresql' are supported."
  )
}

/** Whether the framework can load `name` (it requires optional packages from its own place). */
function packageAvailable(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name)
    return true
  } catch {
    return false
  }
}

/** staticfiles.E001 / W004 (Django's ids): STATICFILES_DIRS is a list of existing folders. */
function checkStaticfilesDirs(settings: ProjectSettings, projectDir: string): CheckMessage[] {
  const dirs = settings.STATICFILES_DIRS
  if (dirs === undefined) return []
  if (!Array.isArray(dirs)) {
    return [
      {
        level: 'error',
        id: 'staticfiles.E001',
        msg: 'The STATICFILES_DIRS setting is not an array.',
        hint: "For example STATICFILES_DIRS: ['static'].",
      },
    ]
  }
  const messages: CheckMessage[] = []
  for (const entry of dirs) {
    // Django also accepts (prefix, path) pairs.
    const dir: unknown = Array.isArray(entry) ? entry[1] : entry
    if (typeof dir !== 'string') continue
    const absolute = resolve(projectDir, dir)
    if (existsSync(absolute) && statSync(absolute).isDirectory()) continue
    messages.push({
      level: 'warning',
      id: 'staticfiles.W004',
      msg: `The directory '${dir}' in the STATICFILES_DIRS setting does not exist.`,
      ...(absolute === dir ? {} : { hint: `Looked for ${absolute}.` }),
    })
  }
  return messages
}
