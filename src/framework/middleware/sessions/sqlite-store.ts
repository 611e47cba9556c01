/**
 * A SQLite session store (SESSION_ENGINE `'db'`/`'sqlite'`, Django's database backend): one
 * `channels_session` table (session_key, session_data as JSON, expire_date in epoch ms), WAL
 * mode, prepared statements. better-sqlite3 is synchronous, which is fine for these
 * single-row statements and keeps the event loop free of thread hops.
 * @module
 */
import { createRequire } from 'node:module'
import type BetterSqlite3 from 'better-sqlite3'
import { randomSessionKey, type SessionData, type SessionStore } from './store.js'

const require = createRequire(import.meta.url)

/** Options of {@link SqliteSessionStore}. */
export interface SqliteSessionStoreOptions {
  /** Database file (created if missing); `':memory:'` for a throwaway one. */
  path: string
}

/** Sessions in a SQLite table that survives restarts. */
export class SqliteSessionStore implements SessionStore {
  readonly path: string
  readonly #db: BetterSqlite3.Database
  readonly #select: BetterSqlite3.Statement<[string, number], { session_data: string }>
  readonly #insert: BetterSqlite3.Statement<[string, string, number]>
  readonly #update: BetterSqlite3.Statement<[string, number, string]>
  readonly #delete: BetterSqlite3.Statement<[string]>
  readonly #exists: BetterSqlite3.Statement<[string], { one: number }>
  readonly #clear: BetterSqlite3.Statement<[number]>

  constructor(options: SqliteSessionStoreOptions) {
    // Loaded on first use: projects on other engines never load the native module.
    const Database = require('better-sqlite3') as typeof BetterSqlite3
    this.path = options.path
    this.#db = new Database(options.path)
    this.#db.pragma('journal_mode = WAL')
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS channels_session (
        session_key TEXT PRIMARY KEY NOT NULL,
        session_data TEXT NOT NULL,
        expire_date INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS channels_session_expire_date ON channels_session (expire_date);
    `)
    this.#select = this.#db.prepare(
      'SELECT session_data FROM channels_session WHERE session_key = ? AND expire_date > ?',
    )
    this.#insert = this.#db.prepare(
      'INSERT OR IGNORE INTO channels_session (session_key, session_data, expire_date) VALUES (?, ?, ?)',
    )
    this.#update = this.#db.prepare(
      'UPDATE channels_session SET session_data = ?, expire_date = ? WHERE session_key = ?',
    )
    this.#delete = this.#db.prepare('DELETE FROM channels_session WHERE session_key = ?')
    this.#exists = this.#db.prepare('SELECT 1 AS one FROM channels_session WHERE session_key = ?')
    this.#clear = this.#db.prepare('DELETE FROM channels_session WHERE expire_date <= ?')
  }

  async load(key: string): Promise<SessionData | null> {
    const row = this.#select.get(key, Date.now())
    if (row === undefined) return null
    try {
      return JSON.parse(row.session_data) as SessionData
    } catch {
      // A corrupt row reads as no session (Django logs SuspiciousSession and does the same).
      return null
    }
  }

  async save(
    key: string,
    data: SessionData,
    expiresAt: Date,
    mustCreate: boolean,
  ): Promise<boolean> {
    const json = JSON.stringify(data)
    const result = mustCreate
      ? this.#insert.run(key, json, expiresAt.getTime())
      : this.#update.run(json, expiresAt.getTime(), key)
    return result.changes === 1
  }

  async delete(key: string): Promise<void> {
    this.#delete.run(key)
  }

  async exists(key: string): Promise<boolean> {
    return this.#exists.get(key) !== undefined
  }

  createKey(): string {
    return randomSessionKey()
  }

  /** Delete expired rows (Django's `clearsessions`); returns how many went. */
  clearExpired(): number {
    return this.#clear.run(Date.now()).changes
  }

  close(): void {
    if (this.#db.open) this.#db.close()
  }
}
