/**
 * The SessionStore contract, run against every store (a Redis store would join the list).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FileSessionStore } from '../../../src/framework/middleware/sessions/file-store.js'
import { MemorySessionStore } from '../../../src/framework/middleware/sessions/memory-store.js'
import { SqliteSessionStore } from '../../../src/framework/middleware/sessions/sqlite-store.js'
import {
  randomSessionKey,
  type SessionStore,
} from '../../../src/framework/middleware/sessions/store.js'
import {
  getSessionStore,
  createSession,
} from '../../../src/framework/middleware/sessions/engine.js'
import { StoreSession } from '../../../src/framework/middleware/sessions/store-session.js'
import { openDatabase } from '../../../src/framework/middleware/django/database.js'
import { DjangoSessionStore } from '../../../src/framework/middleware/django/session-store.js'
import { ImproperlyConfigured } from '../../../src/framework/asgi/errors.js'
import { createDjangoSqlite } from './django/django-sqlite.js'
import { tempDir, useSettings } from './helpers.js'

type Factory = (dir: string) => SessionStore & { clearExpired(): unknown }
const STORES: [string, Factory][] = [
  ['memory', () => new MemorySessionStore()],
  [
    "Django's django_session (SQLite)",
    (dir) => {
      const db = openDatabase(createDjangoSqlite(dir).settings)
      const store = new DjangoSessionStore({ database: db, keys: { key: 'k', fallbackKeys: [] } })
      return Object.assign(store, { close: () => void db.close() })
    },
  ],
  ['sqlite', (dir) => new SqliteSessionStore({ path: join(dir, 's.sqlite3') })],
  ['file', (dir) => new FileSessionStore({ directory: join(dir, 'sessions') })],
]

const later = (ms = 60_000) => new Date(Date.now() + ms)

describe.each(STORES)('%s store contract', (_name, factory) => {
  let store: SessionStore & { clearExpired(): unknown }
  let cleanup: () => void
  beforeEach(() => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    store = factory(tmp.dir)
  })
  afterEach(() => {
    store.close?.()
    cleanup()
    vi.useRealTimers()
  })

  it('creates, loads, updates and deletes', async () => {
    expect(await store.load('k1234567')).toBeNull()
    expect(await store.save('k1234567', { a: 1 }, later(), true)).toBe(true)
    expect(await store.exists('k1234567')).toBe(true)
    expect(await store.load('k1234567')).toEqual({ a: 1 })
    expect(await store.save('k1234567', { a: 2, nested: { b: [1] } }, later(), false)).toBe(true)
    expect(await store.load('k1234567')).toEqual({ a: 2, nested: { b: [1] } })
    await store.delete('k1234567')
    expect(await store.exists('k1234567')).toBe(false)
    await store.delete('k1234567') // absent: no error
  })

  it('create refuses a taken key; update refuses a missing one', async () => {
    expect(await store.save('k1234567', {}, later(), false)).toBe(false)
    expect(await store.save('k1234567', {}, later(), true)).toBe(true)
    expect(await store.save('k1234567', { x: 1 }, later(), true)).toBe(false)
    expect(await store.load('k1234567')).toEqual({})
  })

  it('returns copies, never the stored object', async () => {
    const data = { list: [1] }
    await store.save('k1234567', data, later(), true)
    data.list.push(2)
    const loaded = (await store.load('k1234567')) as { list: number[] }
    expect(loaded.list).toEqual([1])
    loaded.list.push(3)
    expect(await store.load('k1234567')).toEqual({ list: [1] })
  })

  it('expired sessions do not load and are cleared', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1), toFake: ['Date'] })
    await store.save('k1234567', { a: 1 }, later(1000), true)
    await store.save('k7654321', { a: 1 }, later(10_000), true)
    vi.setSystemTime(Date.UTC(2026, 0, 1, 0, 0, 5))
    expect(await store.load('k1234567')).toBeNull()
    await store.clearExpired()
    expect(await store.exists('k1234567')).toBe(false)
    expect(await store.load('k7654321')).toEqual({ a: 1 })
  })

  it('creates random 32-character keys', () => {
    const key = store.createKey()
    expect(key).toMatch(/^[a-z0-9]{32}$/)
    expect(store.createKey()).not.toBe(key)
  })
})

describe('file store', () => {
  it('refuses keys that are not [a-z0-9] (no path traversal)', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new FileSessionStore({ directory: dir })
      expect(await store.save('../../etc/passwd', {}, later(), true)).toBe(false)
      expect(await store.load('../x')).toBeNull()
      expect(await store.exists('../x')).toBe(false)
      await store.delete('../x')
      // A corrupt file reads as no session.
      writeFileSync(join(dir, 'sessionidabcdefgh12345678'), '{not json')
      expect(await store.load('abcdefgh12345678')).toBeNull()
    } finally {
      cleanup()
    }
  })
})

describe('SQLite store', () => {
  it('uses WAL mode and keeps data across instances on the same file', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const path = join(dir, 'db.sqlite3')
      const first = new SqliteSessionStore({ path })
      await first.save('k1234567', { kept: true }, later(), true)
      first.close()
      const second = new SqliteSessionStore({ path })
      expect(await second.load('k1234567')).toEqual({ kept: true })
      second.close()
      const Database = (await import('better-sqlite3')).default
      const db = new Database(path, { readonly: true })
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(),
      ).toContain('channels_session')
      // A corrupt row reads as no session.
      const writable = new Database(path)
      writable.prepare('UPDATE channels_session SET session_data = ?').run('{broken')
      writable.close()
      const third = new SqliteSessionStore({ path })
      expect(await third.load('k1234567')).toBeNull()
      third.close()
      db.close()
    } finally {
      cleanup()
    }
  })
})

describe('engine resolution', () => {
  let restore: () => void
  let cleanup: () => void
  let dir: string
  beforeEach(() => {
    const tmp = tempDir()
    dir = tmp.dir
    cleanup = tmp.cleanup
    restore = useSettings({
      SESSION_DB_PATH: join(dir, 'engine.sqlite3'),
      SESSION_FILE_PATH: join(dir, 'files'),
    })
  })
  afterEach(() => {
    restore()
    cleanup()
  })

  it.each([
    ['db', SqliteSessionStore],
    ['sqlite', SqliteSessionStore],
    ['memory', MemorySessionStore],
    ['cache', MemorySessionStore],
    ['django.contrib.sessions.backends.cache', MemorySessionStore],
    ['file', FileSessionStore],
    ['django.contrib.sessions.backends.file', FileSessionStore],
  ])('%s → %o', (engine, cls) => {
    const store = getSessionStore(engine)
    expect(store).toBeInstanceOf(cls)
    // Cached: every connection shares one store (one database handle).
    expect(getSessionStore(engine)).toBe(store)
  })

  it.each(['django.contrib.sessions.backends.db', 'django.contrib.sessions.backends.cached_db'])(
    "%s is Django's own table in DATABASES, and says so when DATABASES is missing",
    (engine) => {
      expect(() => getSessionStore(engine)).toThrow(ImproperlyConfigured)
      expect(() => getSessionStore(engine)).toThrow(/DATABASES is not set.*ENGINE, NAME/)
      const restoreDb = useSettings({
        DATABASES: { default: createDjangoSqlite(dir).settings },
      })
      try {
        const store = getSessionStore(engine)
        expect(store).toBeInstanceOf(DjangoSessionStore)
        expect(getSessionStore(engine)).toBe(store)
      } finally {
        restoreDb()
      }
    },
  )

  it('signed cookies have no store', () => {
    expect(getSessionStore('signed_cookies')).toBeNull()
    expect(getSessionStore('django.contrib.sessions.backends.signed_cookies')).toBeNull()
  })

  it('a SessionStore object is used as is (e.g. a Redis store)', async () => {
    const custom = new MemorySessionStore()
    expect(getSessionStore(custom)).toBe(custom)
    const session = await createSession(null, custom)
    expect(session).toBeInstanceOf(StoreSession)
    session.set('a', 1)
    await session.save()
    expect(await custom.load(session.sessionKey!)).toEqual({ a: 1 })
  })

  it('randomSessionKey honours the length', () => {
    expect(randomSessionKey(8)).toMatch(/^[a-z0-9]{8}$/)
  })
})
