/**
 * Settings: Django's keys and defaults, installed once per process by the CLI (or a test).
 * @module
 */
export {
  DEFAULT_SETTINGS,
  configureSettings,
  defineSettings,
  getSettings,
  onSettingsChange,
  overrideSettings,
} from './settings.js'
export type { SettingsListener } from './settings.js'
export type {
  DefaultedKey,
  DjangoDatabaseSettings,
  ResolvedSettings,
  SameSite,
  Settings,
} from './types.js'
