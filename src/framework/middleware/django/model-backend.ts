/**
 * Django's `ModelBackend` for `getUser`: users from Django's user table (`auth_user`, or
 * AUTH_USER_MODEL's), their session auth hash computed as Django computes it.
 * @module
 */
import { ImproperlyConfigured } from '../../asgi/errors.js'
import { getLogger } from '../../asgi/logging.js'
import { getSettings } from '../../settings/index.js'
import type { AuthBackend, AuthUser } from '../auth-types.js'
import { constantTimeCompare, saltedHmac } from '../signing.js'
import { errorText } from '../../../util/describe.js'
import { databaseGetter } from './database.js'
import { dateParam, type DjangoDatabase, DjangoDatabaseError, sqlName } from './db-types.js'

const logger = getLogger('channels.auth')

/** The name Django stores in `_auth_user_backend` for its model backend. */
export const MODEL_BACKEND = 'django.contrib.auth.backends.ModelBackend'

const AUTH_HASH_SALT = 'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash'

/** Options of {@link DjangoModelBackend}. */
export interface DjangoModelBackendOptions {
  /** The name sessions carry in `_auth_user_backend` (default Django's ModelBackend path). */
  name?: string
  /** The user table (default: from AUTH_USER_MODEL, `auth_user` for `auth.User`). */
  table?: string
  /** The primary key column (default `id`). */
  pkColumn?: string
  /** The column that is `username` (Django's USERNAME_FIELD; default `username`). */
  usernameColumn?: string
  /** The database (default: DATABASES' `default` alias). */
  database?: DjangoDatabase | (() => DjangoDatabase)
}

/**
 * A row of Django's user table. `fields` holds every column but the password hash, read-only;
 * the common ones are also properties with the framework's names.
 */
export class DjangoUser implements AuthUser {
  readonly id: string | number
  readonly username: string
  readonly isAuthenticated = true
  readonly isAnonymous = false
  readonly isActive: boolean
  readonly isStaff: boolean
  readonly isSuperuser: boolean
  readonly backend: string
  /** The row's columns (without `password`), as the database returned them. */
  readonly fields: Readonly<Record<string, unknown>>
  readonly #password: string
  readonly #recordLogin: (user: DjangoUser) => Promise<void>

  constructor(
    row: Readonly<Record<string, unknown>>,
    options: {
      backend: string
      pkColumn: string
      usernameColumn: string
      recordLogin: (user: DjangoUser) => Promise<void>
    },
  ) {
    const { password, ...fields } = row
    const pk = row[options.pkColumn]
    this.id = typeof pk === 'number' || typeof pk === 'string' ? pk : String(pk)
    const username = row[options.usernameColumn]
    this.username =
      typeof username === 'string' ? username : typeof username === 'number' ? `${username}` : ''
    // Django's user_can_authenticate: a model without is_active counts as active.
    this.isActive = flag(row.is_active, true)
    this.isStaff = flag(row.is_staff, false)
    this.isSuperuser = flag(row.is_superuser, false)
    this.backend = options.backend
    this.fields = Object.freeze(fields)
    this.#password = typeof password === 'string' ? password : ''
    this.#recordLogin = options.recordLogin
  }

  /** Django's `get_session_auth_hash()`: HMAC-SHA256 of the password hash under SECRET_KEY. */
  getSessionAuthHash(): string {
    return authHash(this.#password, secretKey(), 'sha256')
  }

  /**
   * Whether a session's `_auth_user_hash` is this user's, as Django 3.2 accepts it: made with
   * SECRET_KEY or one of SECRET_KEY_FALLBACKS (Django 4.1+ setting), or in the SHA-1 form Django
   * 3.1 and 3.2 still accept from sessions made before 3.1.
   */
  verifySessionAuthHash(stored: string): boolean {
    if (stored === '') return false
    const settings = getSettings()
    const keys = [secretKey(), ...(settings.SECRET_KEY_FALLBACKS ?? [])]
    return keys.some(
      (key) =>
        constantTimeCompare(stored, authHash(this.#password, key, 'sha256')) ||
        constantTimeCompare(stored, authHash(this.#password, key, 'sha1')),
    )
  }

  /** Django's `update_last_login`, which `login()` runs. */
  recordLogin(): Promise<void> {
    return this.#recordLogin(this)
  }

  toString(): string {
    return this.username
  }
}

/**
 * Looks users up in Django's user table by the id in the session. Inactive users are not
 * returned (Django's ModelBackend). A database that cannot be reached logs an error and answers
 * no user: the connection is anonymous.
 */
export class DjangoModelBackend implements AuthBackend<DjangoUser> {
  readonly name: string
  readonly table: string
  readonly pkColumn: string
  readonly usernameColumn: string
  readonly #database: () => DjangoDatabase

  constructor(options: DjangoModelBackendOptions = {}) {
    this.name = options.name ?? MODEL_BACKEND
    this.table = sqlName(options.table ?? userTable(), 'user table')
    this.pkColumn = sqlName(options.pkColumn ?? 'id', 'primary key column')
    this.usernameColumn = sqlName(options.usernameColumn ?? 'username', 'username column')
    this.#database = databaseGetter(options.database)
  }

  async getUser(userId: string): Promise<DjangoUser | null> {
    let row: Record<string, unknown> | undefined
    try {
      row = await this.#database().one(`SELECT * FROM ${this.table} WHERE ${this.pkColumn} = ?`, [
        userId,
      ])
    } catch (error) {
      if (error instanceof ImproperlyConfigured) throw error
      if (isBadKey(error)) {
        logger.debug(`User id ${JSON.stringify(userId)} is not a ${this.table} key`)
        return null
      }
      logger.error(`Cannot read the user from Django's database: ${errorText(error)}`, error)
      return null
    }
    if (row === undefined) return null
    const user = new DjangoUser(row, {
      backend: this.name,
      pkColumn: this.pkColumn,
      usernameColumn: this.usernameColumn,
      recordLogin: (u) => this.#updateLastLogin(u),
    })
    return user.isActive ? user : null
  }

  async #updateLastLogin(user: DjangoUser): Promise<void> {
    if (!('last_login' in user.fields)) return
    const db = this.#database()
    const now = new Date()
    await db.run(`UPDATE ${this.table} SET last_login = ? WHERE ${this.pkColumn} = ?`, [
      dateParam(db, now),
      user.id,
    ])
  }
}

/** AUTH_USER_MODEL's default table: `app_label` + `_` + the model name in lower case. */
export function userTable(model = getSettings().AUTH_USER_MODEL ?? 'auth.User'): string {
  const parts = model.split('.')
  if (parts.length !== 2 || parts.some((part) => part === '')) {
    throw new ImproperlyConfigured(
      `AUTH_USER_MODEL must be of the form 'app_label.model_name', not ${JSON.stringify(model)}.`,
    )
  }
  return `${String(parts[0])}_${String(parts[1]).toLowerCase()}`
}

function authHash(password: string, key: string, algorithm: 'sha256' | 'sha1'): string {
  return saltedHmac(AUTH_HASH_SALT, password, key, algorithm).toString('hex')
}

function secretKey(): string {
  const key = getSettings().SECRET_KEY
  if (!key) throw new ImproperlyConfigured('The SECRET_KEY setting must not be empty.')
  return key
}

/** SQLite stores booleans as 0/1; PostgreSQL returns booleans. */
function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback
  return value === true || value === 1 || value === '1' || value === 't'
}

/** PostgreSQL refuses a key of the wrong type (e.g. "abc" for an integer id): no such user. */
function isBadKey(error: unknown): boolean {
  const cause = error instanceof DjangoDatabaseError ? error.cause : error
  const code = (cause as { code?: unknown } | null)?.code
  return code === '22P02'
}
