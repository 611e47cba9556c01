/**
 * SESSION_ENGINE → a session factory. Accepts short names, Django's dotted names, or a
 * {@link SessionStore} object (e.g. a Redis store). Named stores are opened once and cached.
 * @module
 */
import { ImproperlyConfigured } from '../../asgi/errors.js'
import { getSettings } from '../../settings/index.js'
import { closeDjangoDatabases, databaseSettings } from '../django/database.js'
import { DjangoSessionStore } from '../django/session-store.js'
import { FileSessionStore } from './file-store.js'
import { MemorySessionStore } from './memory-store.js'
import type { Session } from './session.js'
import { SignedCookieSession } from './signed-cookie-session.js'
import { SqliteSessionStore } from './sqlite-store.js'
import { StoreSession } from './store-session.js'
import type { SessionStore } from './store.js'

/** What SESSION_ENGINE (or a middleware's `engine` option) may hold. */
export type SessionEngine = string | SessionStore

/** Builds the session object for one connection from its cookie value (or null). */
export type SessionFactory = (sessionKey: string | null) => Session

/** Default SQLite file of the `'db'` engine (Django's default database is `db.sqlite3`). */
export const DEFAULT_SESSION_DB_PATH = './db.sqlite3'

const ENGINE_ALIASES: Record<string, 'signed_cookies' | 'memory' | 'sqlite' | 'file' | 'django'> = {
  signed_cookies: 'signed_cookies',
  'django.contrib.sessions.backends.signed_cookies': 'signed_cookies',
  memory: 'memory',
  cache: 'memory',
  'django.contrib.sessions.backends.cache': 'memory',
  sqlite: 'sqlite',
  db: 'sqlite',
  cached_db: 'sqlite',
  // Django's own table in Django's database (DATABASES), shared with the Django site; cached_db
  // reads through to it (Django's cache holds pickles, which are not shared).
  'django.contrib.sessions.backends.db': 'django',
  'django.contrib.sessions.backends.cached_db': 'django',
  file: 'file',
  'django.contrib.sessions.backends.file': 'file',
}

const openStores = new Map<string, SessionStore>()

/** Whether `value` looks like a {@link SessionStore}. */
export function isSessionStore(value: unknown): value is SessionStore {
  if (value === null || typeof value !== 'object') return false
  const store = value as Record<string, unknown>
  return ['load', 'save', 'delete', 'exists', 'createKey'].every(
    (m) => typeof store[m] === 'function',
  )
}

/**
 * The store a store-backed engine uses (`'memory'` or `'db'`): the same instance until
 * {@link closeSessionStores}. Null for `'signed_cookies'`, which keeps no server-side data.
 */
export function getSessionStore(engine: SessionEngine = currentEngine()): SessionStore | null {
  if (isSessionStore(engine)) return engine
  const kind = ENGINE_ALIASES[engine]
  if (kind === undefined) {
    throw new ImproperlyConfigured(
      `Unknown SESSION_ENGINE ${JSON.stringify(engine)}: use 'db' (SQLite), 'memory', 'file', ` +
        `'signed_cookies', a Django backend path, or a SessionStore object.`,
    )
  }
  if (kind === 'signed_cookies') return null
  const settings = getSettings()
  if (kind === 'django') {
    // Checked here, so a missing DATABASES fails the first connection with its reason.
    databaseSettings('default')
    let store = openStores.get('django')
    if (store === undefined) {
      store = new DjangoSessionStore()
      openStores.set('django', store)
    }
    return store
  }
  const dbPath = settings.SESSION_DB_PATH ?? DEFAULT_SESSION_DB_PATH
  const directory = settings.SESSION_FILE_PATH
  const cacheKey =
    kind === 'memory' ? 'memory' : kind === 'file' ? `file:${directory ?? ''}` : `sqlite:${dbPath}`
  let store = openStores.get(cacheKey)
  if (store === undefined) {
    store =
      kind === 'memory'
        ? new MemorySessionStore()
        : kind === 'file'
          ? new FileSessionStore({
              ...(directory !== undefined && { directory }),
              prefix: settings.SESSION_COOKIE_NAME,
            })
          : new SqliteSessionStore({ path: dbPath })
    openStores.set(cacheKey, store)
  }
  return store
}

/** The session factory of `engine` (default: SESSION_ENGINE). */
export function resolveSessionEngine(engine: SessionEngine = currentEngine()): SessionFactory {
  const store = getSessionStore(engine)
  if (store === null) return (key) => new SignedCookieSession(key)
  return (key) => new StoreSession(store, key)
}

// The factory of the last engine asked for, reused while settings and open stores are the same.
let memo: {
  engine: SessionEngine | undefined
  settings: ReturnType<typeof getSettings>
  generation: number
  factory: SessionFactory
} | null = null
// Bumped by closeSessionStores: a memoised factory must not hand out a closed store.
let generation = 0

/**
 * `resolveSessionEngine`, memoised for the session middleware (it runs per connection): the
 * same factory while the settings object, `engine` and the open stores stay the same.
 */
export function sessionFactory(engine?: SessionEngine): SessionFactory {
  const settings = getSettings()
  if (
    memo !== null &&
    memo.engine === engine &&
    memo.settings === settings &&
    memo.generation === generation
  ) {
    return memo.factory
  }
  const factory = resolveSessionEngine(engine)
  memo = { engine, settings, generation, factory }
  return factory
}

/**
 * A loaded session: an existing one by key, or a new empty one (Django's
 * `SessionStore(session_key=...)`, loaded eagerly because reads here are synchronous).
 */
export async function createSession(
  sessionKey: string | null = null,
  engine?: SessionEngine,
): Promise<Session> {
  const session = resolveSessionEngine(engine)(sessionKey)
  await session.load()
  return session
}

/** Close and forget the stores opened for named engines (tests, shutdown). */
export function closeSessionStores(): void {
  for (const store of openStores.values()) store.close?.()
  openStores.clear()
  // Django's databases are shared with DjangoModelBackend; closing is quick and needs no wait.
  void closeDjangoDatabases()
  generation++
  memo = null
}

function currentEngine(): SessionEngine {
  return getSettings().SESSION_ENGINE
}
