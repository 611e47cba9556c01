/**
 * Django's database session engine (`django.contrib.sessions.backends.db`, and `cached_db`
 * reading through to the database): sessions in Django's own `django_session` table, in
 * Django's format, so a browser logged in on the Django site is logged in here and a logout here
 * is one there.
 * @module
 */
import { ImproperlyConfigured } from '../../asgi/errors.js'
import { getLogger } from '../../asgi/logging.js'
import { getSettings } from '../../settings/index.js'
import { randomSessionKey, type SessionData, type SessionStore } from '../sessions/store.js'
import { databaseGetter } from './database.js'
import { errorText } from '../../../util/describe.js'
import { dateParam, type DjangoDatabase, sqlName } from './db-types.js'
import { decodeSessionData, encodeSessionData, type SessionKeys } from './session-data.js'

const logger = getLogger('channels.sessions')

/** Options of {@link DjangoSessionStore}. */
export interface DjangoSessionStoreOptions {
  /** The database (default: DATABASES' `default` alias, opened on first use). */
  database?: DjangoDatabase | (() => DjangoDatabase)
  /** The table (default `django_session`). */
  table?: string
  /** Signing keys (default: SECRET_KEY and SECRET_KEY_FALLBACKS). */
  keys?: SessionKeys
}

interface SessionRow extends Record<string, unknown> {
  session_data: string
  expire_date: string | Date
}

/**
 * Sessions in Django's `django_session` table. A database that cannot be reached reads as no
 * session, with an error logged: the connection goes on as anonymous rather than failing.
 */
export class DjangoSessionStore implements SessionStore {
  readonly table: string
  readonly #database: () => DjangoDatabase
  readonly #keys: SessionKeys | undefined

  constructor(options: DjangoSessionStoreOptions = {}) {
    this.#database = databaseGetter(options.database)
    this.table = sqlName(options.table ?? 'django_session', 'session table')
    this.#keys = options.keys
  }

  async load(key: string): Promise<SessionData | null> {
    let row: SessionRow | undefined
    let db: DjangoDatabase
    try {
      db = this.#database()
      row = await db.one<SessionRow>(
        `SELECT session_data, expire_date FROM ${this.table} WHERE session_key = ?`,
        [key],
      )
    } catch (error) {
      if (error instanceof ImproperlyConfigured) throw error
      logger.error(`Cannot read the session from Django's database: ${errorText(error)}`, error)
      return null
    }
    if (row === undefined) {
      logger.debug(`Session ${redact(key)} not found (logged out, cleared, or not one of ours)`)
      return null
    }
    const expires = readDate(row.expire_date)
    // An unreadable date counts as expired (the comparison is false for NaN).
    if (!(expires.getTime() > Date.now())) {
      logger.debug(`Session ${redact(key)} expired (expire_date ${String(row.expire_date)})`)
      return null
    }
    const decoded = decodeSessionData(row.session_data, this.#signingKeys())
    if (!decoded.ok) {
      // Django logs "Session data corrupted" and goes on with an empty session under the same key.
      logger.warn(`Session ${redact(key)}: ${decoded.reason}; treated as empty`)
      return {}
    }
    return decoded.data
  }

  async save(
    key: string,
    data: SessionData,
    expiresAt: Date,
    mustCreate: boolean,
  ): Promise<boolean> {
    const db = this.#database()
    const encoded = encodeSessionData(data, this.#signingKeys())
    const expire = dateParam(db, expiresAt)
    if (mustCreate) {
      const inserted = await db.run(
        `INSERT INTO ${this.table} (session_key, session_data, expire_date) VALUES (?, ?, ?) ` +
          'ON CONFLICT (session_key) DO NOTHING',
        [key, encoded, expire],
      )
      return inserted === 1
    }
    const updated = await db.run(
      `UPDATE ${this.table} SET session_data = ?, expire_date = ? WHERE session_key = ?`,
      [encoded, expire, key],
    )
    return updated === 1
  }

  async delete(key: string): Promise<void> {
    await this.#database().run(`DELETE FROM ${this.table} WHERE session_key = ?`, [key])
  }

  async exists(key: string): Promise<boolean> {
    const row = await this.#database().one(
      `SELECT 1 AS one FROM ${this.table} WHERE session_key = ?`,
      [key],
    )
    return row !== undefined
  }

  createKey(): string {
    return randomSessionKey()
  }

  /** Delete expired rows (Django's `clearsessions`); resolves to how many went. */
  async clearExpired(): Promise<number> {
    const db = this.#database()
    return db.run(`DELETE FROM ${this.table} WHERE expire_date < ?`, [dateParam(db, new Date())])
  }

  #signingKeys(): SessionKeys {
    if (this.#keys !== undefined) return this.#keys
    const settings = getSettings()
    if (!settings.SECRET_KEY) {
      throw new ImproperlyConfigured(
        "The SECRET_KEY setting must not be empty: Django's sessions are signed with the Django " +
          "project's SECRET_KEY.",
      )
    }
    return { key: settings.SECRET_KEY, fallbackKeys: settings.SECRET_KEY_FALLBACKS ?? [] }
  }
}

function readDate(value: string | Date): Date {
  if (value instanceof Date) return value
  // `2026-12-20 10:00:00.123456` (microseconds absent when zero), UTC.
  const match = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?/.exec(value)
  if (match === null) return new Date(Number.NaN)
  const [, day, time, fraction = ''] = match
  return new Date(`${String(day)}T${String(time)}.${fraction.padEnd(3, '0').slice(0, 3)}Z`)
}

/** A session key is a credential: log lines carry its start only. */
function redact(key: string): string {
  return `${key.slice(0, 4)}…`
}
