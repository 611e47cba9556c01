/**
 * A DATABASES entry from one URL, as dj-database-url reads it, so one environment variable can
 * name the same database to the Django project and to this one.
 * @module
 */
import { ImproperlyConfigured } from '../../asgi/errors.js'
import type { DjangoDatabaseSettings } from '../../settings/types.js'

/**
 * `postgres://user:password@host:5432/name` (also `postgresql://`, `pgsql://`; a `host` query
 * parameter names a socket directory) or `sqlite:///relative.sqlite3`,
 * `sqlite:////absolute/db.sqlite3` → a DATABASES entry with Django's ENGINE names.
 */
export function databaseFromUrl(url: string): DjangoDatabaseSettings {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ImproperlyConfigured(
      `${JSON.stringify(url)} is not a database URL: use postgres://user:password@host:port/name ` +
        'or sqlite:////absolute/path/db.sqlite3.',
    )
  }
  const scheme = parsed.protocol.slice(0, -1)
  if (scheme === 'sqlite') {
    // sqlite:///db.sqlite3 is relative, sqlite:////abs/db.sqlite3 absolute (dj-database-url).
    const path = decodeURIComponent(url.slice('sqlite://'.length)).replace(/^\//, '')
    if (path === '' || path === ':memory:') {
      throw new ImproperlyConfigured(
        `${JSON.stringify(url)} names no file: Django's sessions live in the Django project's database file.`,
      )
    }
    return { ENGINE: 'django.db.backends.sqlite3', NAME: path }
  }
  if (scheme === 'postgres' || scheme === 'postgresql' || scheme === 'pgsql') {
    const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
    if (name === '') {
      throw new ImproperlyConfigured(`${JSON.stringify(url)} names no database (the path).`)
    }
    const socketDir = parsed.searchParams.get('host')
    const entry: DjangoDatabaseSettings = {
      ENGINE: 'django.db.backends.postgresql',
      NAME: name,
      USER: decodeURIComponent(parsed.username),
      PASSWORD: decodeURIComponent(parsed.password),
      HOST: socketDir ?? decodeURIComponent(parsed.hostname),
      PORT: parsed.port,
    }
    const options: Record<string, unknown> = {}
    const sslmode = parsed.searchParams.get('sslmode')
    if (sslmode !== null) options.sslmode = sslmode
    const timeout = parsed.searchParams.get('connect_timeout')
    if (timeout !== null) options.connect_timeout = Number(timeout)
    return Object.keys(options).length > 0 ? { ...entry, OPTIONS: options } : entry
  }
  throw new ImproperlyConfigured(
    `Database URL scheme ${JSON.stringify(scheme)} is not supported: use postgres:// or sqlite://.`,
  )
}
