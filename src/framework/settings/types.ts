/**
 * The settings object a project defines in `settings.ts`, with Django's key names, so a Django
 * developer finds `ALLOWED_HOSTS`, `CHANNEL_LAYERS` or `SESSION_COOKIE_AGE` where they expect.
 * @module
 */
import type { AnyApplication } from '../asgi/types.js'
import type { ChannelLayerConfig } from '../layers/types.js'
import type { SessionStore } from '../middleware/sessions/store.js'

/**
 * One entry of DATABASES, with Django's keys. ENGINE `'django.db.backends.sqlite3'` (NAME is the
 * file) or `'django.db.backends.postgresql'` (NAME is the database; HOST empty means the local
 * socket directory, a path a socket directory).
 */
export interface DjangoDatabaseSettings {
  ENGINE: string
  NAME: string
  USER?: string
  PASSWORD?: string
  HOST?: string
  PORT?: string | number
  /** PostgreSQL: `connect_timeout` (seconds), `sslmode`; SQLite: `timeout` (seconds). */
  OPTIONS?: Readonly<Record<string, unknown>>
}

/** `SameSite` values Django accepts for `SESSION_COOKIE_SAMESITE` (`false` leaves it out). */
export type SameSite = 'Lax' | 'Strict' | 'None' | false

/**
 * A project's settings: Django's keys (all optional; `getSettings()` fills in the defaults) plus
 * any keys of the project's own.
 */
export interface Settings {
  /**
   * The root application: `'mysite.routing.application'` (module path and export, resolved to
   * `.ts`/`.js` like Django's dotted path) or the application itself.
   */
  ASGI_APPLICATION?: string | AnyApplication
  /** Channel layers by alias: `{ default: { BACKEND: 'InMemoryChannelLayer', CONFIG: {} } }`. */
  CHANNEL_LAYERS?: Readonly<Record<string, ChannelLayerConfig>>
  /** Signs cookies and session data; keep it secret in production. */
  SECRET_KEY?: string
  /** Host names this site serves (`'.example.com'` matches subdomains, `'*'` anything). */
  ALLOWED_HOSTS?: readonly string[]
  /** Development mode: serves static files, lets `localhost` in when ALLOWED_HOSTS is empty. */
  DEBUG?: boolean
  /**
   * Largest request body, in bytes, that AsyncHttpConsumer buffers before `handle()` (default
   * 2621440, Django's 2.5 MiB); a bigger one is answered 413 (Django: 400). null: no limit.
   */
  DATA_UPLOAD_MAX_MEMORY_SIZE?: number | null
  /** URL prefix static files are served under (default `'/static/'`). */
  STATIC_URL?: string
  /** Directory `collectstatic` copies into and production serves from. */
  STATIC_ROOT?: string
  /** Extra directories the static-files finder searches. */
  STATICFILES_DIRS?: readonly string[]
  /**
   * Session store: `'db'` (SQLite at SESSION_DB_PATH; Django's default, the database backend),
   * `'file'` (SESSION_FILE_PATH), `'signed_cookies'`, `'cache'` (in-process), or a Django dotted
   * name such as `'django.contrib.sessions.backends.db'`; or a `SessionStore` object (e.g. a
   * Redis store of your own).
   */
  SESSION_ENGINE?: string | SessionStore
  /** Name of the session cookie (default `'sessionid'`). */
  SESSION_COOKIE_NAME?: string
  /** Session cookie lifetime in SECONDS, as in Django (default 1209600, two weeks). */
  SESSION_COOKIE_AGE?: number
  /** Domain of the session cookie (unset: host-only). */
  SESSION_COOKIE_DOMAIN?: string
  /** Path of the session cookie (default `'/'`). */
  SESSION_COOKIE_PATH?: string
  /** Send the session cookie over HTTPS only (default false). */
  SESSION_COOKIE_SECURE?: boolean
  /** Hide the session cookie from JavaScript (default true). */
  SESSION_COOKIE_HTTPONLY?: boolean
  /** `SameSite` of the session cookie (default `'Lax'`). */
  SESSION_COOKIE_SAMESITE?: SameSite
  /** Save the session on every HTTP response, not only when modified (default false). */
  SESSION_SAVE_EVERY_REQUEST?: boolean
  /** Make the session cookie a browser-session cookie (no Max-Age/Expires; default false). */
  SESSION_EXPIRE_AT_BROWSER_CLOSE?: boolean
  /** Directory of the `'file'` session store. */
  SESSION_FILE_PATH?: string
  /** SQLite file of the `'db'` session store. */
  SESSION_DB_PATH?: string
  /** Older secret keys still accepted when verifying signatures and session auth hashes. */
  SECRET_KEY_FALLBACKS?: readonly string[]
  /**
   * Django's databases, by alias, as in the Django project's settings: `default` is where the
   * `'django.contrib.sessions.backends.db'` engine finds `django_session` and where
   * `DjangoModelBackend` finds the users. SQLite and PostgreSQL.
   */
  DATABASES?: Readonly<Record<string, DjangoDatabaseSettings>>
  /** Django's user model as `'app_label.ModelName'` (default `'auth.User'`, table `auth_user`). */
  AUTH_USER_MODEL?: string
  /**
   * Authentication backends, tried in order (their names or objects). Unset: `DjangoModelBackend`
   * when DATABASES is set, none otherwise.
   */
  AUTHENTICATION_BACKENDS?: readonly unknown[]
  /** Mount prefix of the site; becomes the scope's `root_path`. */
  FORCE_SCRIPT_NAME?: string
  /** Ids of system checks the `channels` command does not report, e.g. `['staticfiles.W004']`. */
  SILENCED_SYSTEM_CHECKS?: readonly string[]
  /** The project folder; `channels runserver` and `serve` set it when the settings do not. */
  BASE_DIR?: string
  /**
   * The token `channels serve --dashboard` requires of every dashboard request (the environment's
   * CHANNELS_DASHBOARD_TOKEN wins); runserver's dashboard needs none.
   */
  DASHBOARD_TOKEN?: string
  /** Any project-specific key. */
  [key: string]: unknown
}

/** The keys `getSettings()` always fills in from its defaults. */
export type DefaultedKey =
  | 'CHANNEL_LAYERS'
  | 'SECRET_KEY'
  | 'ALLOWED_HOSTS'
  | 'DEBUG'
  | 'DATA_UPLOAD_MAX_MEMORY_SIZE'
  | 'STATIC_URL'
  | 'STATICFILES_DIRS'
  | 'SESSION_ENGINE'
  | 'SESSION_COOKIE_NAME'
  | 'SESSION_COOKIE_AGE'
  | 'SESSION_COOKIE_PATH'
  | 'SESSION_COOKIE_SECURE'
  | 'SESSION_COOKIE_HTTPONLY'
  | 'SESSION_COOKIE_SAMESITE'
  | 'SESSION_SAVE_EVERY_REQUEST'
  | 'SESSION_EXPIRE_AT_BROWSER_CLOSE'

/** Settings as `getSettings()` returns them: the project's values over the defaults. */
export type ResolvedSettings = Readonly<Settings & Required<Pick<Settings, DefaultedKey>>>
