/**
 * The process-wide settings object (Django's `django.conf.settings`). The framework never reads
 * `process.env`: the CLI loads the project's `settings.ts` and calls `configureSettings`.
 * @module
 */
import type { ResolvedSettings, Settings } from './types.js'
import { describeValue } from '../../util/describe.js'

/**
 * Django's defaults for the keys the framework reads. SESSION_ENGINE is `'db'`, the equivalent
 * of Django's default `django.contrib.sessions.backends.db` (a SQLite table here).
 */
export const DEFAULT_SETTINGS: ResolvedSettings = Object.freeze({
  CHANNEL_LAYERS: Object.freeze({}),
  SECRET_KEY: '',
  ALLOWED_HOSTS: Object.freeze([]),
  DEBUG: false,
  DATA_UPLOAD_MAX_MEMORY_SIZE: 2.5 * 1024 * 1024,
  STATIC_URL: '/static/',
  STATICFILES_DIRS: Object.freeze([]),
  SESSION_ENGINE: 'db',
  SESSION_COOKIE_NAME: 'sessionid',
  SESSION_COOKIE_AGE: 60 * 60 * 24 * 7 * 2, // two weeks, in seconds (Django's unit)
  SESSION_COOKIE_PATH: '/',
  SESSION_COOKIE_SECURE: false,
  SESSION_COOKIE_HTTPONLY: true,
  SESSION_COOKIE_SAMESITE: 'Lax',
  SESSION_SAVE_EVERY_REQUEST: false,
  SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
})

/** Called after the settings change, with the new and the previous resolved settings. */
export type SettingsListener = (next: ResolvedSettings, previous: ResolvedSettings) => void

let current: Settings = {}
let resolved: ResolvedSettings = DEFAULT_SETTINGS
const listeners = new Set<SettingsListener>()

/** Identity helper that types a project's `settings.ts` (`export default defineSettings({...})`). */
export function defineSettings<T extends Settings>(settings: T): T {
  return settings
}

/**
 * Install the process-wide settings (replacing, not merging with, the previous ones) and return
 * the previously installed object. Listeners registered with `onSettingsChange` are told.
 */
export function configureSettings(settings: Settings): Settings {
  // Checked as unknown: a settings file in JavaScript may export anything.
  const given: unknown = settings
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new TypeError(`Settings must be an object, got ${describeValue(settings)}`)
  }
  const previous = current
  const previousResolved = resolved
  current = settings
  resolved = resolve(settings)
  for (const listener of listeners) listener(resolved, previousResolved)
  return previous
}

/**
 * The current settings merged over Django-like defaults. The object is frozen and stays the same
 * until the settings change, so callers may compare keys (e.g. CHANNEL_LAYERS) by identity.
 */
export function getSettings(): ResolvedSettings {
  return resolved
}

/**
 * Run `fn` with `partial` merged over the current settings, then restore them, also when `fn`
 * throws or its promise rejects (Django's `override_settings`). Overlapping async overrides
 * restore in completion order, so don't interleave them.
 */
export function overrideSettings<R>(partial: Settings, fn: () => R): R {
  const given: unknown = partial
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new TypeError(
      `overrideSettings needs an object of settings, got ${describeValue(partial)}`,
    )
  }
  if (typeof fn !== 'function') {
    throw new TypeError(`overrideSettings needs a function to run, got ${describeValue(fn)}`)
  }
  const previous = configureSettings({ ...current, ...partial })
  let result: R
  try {
    result = fn()
  } catch (err) {
    configureSettings(previous)
    throw err
  }
  if (isThenable(result)) {
    // Restore on settlement without changing what the caller awaits.
    return result.then(
      (value) => {
        configureSettings(previous)
        return value
      },
      (err: unknown) => {
        configureSettings(previous)
        throw err
      },
    ) as R
  }
  configureSettings(previous)
  return result
}

/** Be told whenever the settings change (caches reset here). Returns an unsubscribe function. */
export function onSettingsChange(listener: SettingsListener): () => void {
  listeners.add(listener)
  return () => {
    listeners.delete(listener)
  }
}

function resolve(settings: Settings): ResolvedSettings {
  const merged: Settings = { ...DEFAULT_SETTINGS }
  for (const key of Object.keys(settings)) {
    const value = settings[key]
    // An explicit `undefined` means "not set": keep the default.
    if (value !== undefined) merged[key] = value
  }
  return Object.freeze(merged) as ResolvedSettings
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
