/**
 * Django's SQLite database file through better-sqlite3. Statements are single-row lookups by an
 * indexed key, run synchronously: one such lookup costs microseconds, less than a hop to a
 * thread. While Django commits, SQLite answers SQLITE_BUSY at once (busy timeout 0, so the event
 * loop never waits on a lock) and the statement is retried on a timer.
 * @module
 */
import { createRequire } from 'node:module'
import type BetterSqlite3 from 'better-sqlite3'
import type { DjangoDatabaseSettings } from '../../settings/types.js'
import { errorText } from '../../../util/describe.js'
import { DjangoDatabaseError, type DjangoDatabase } from './db-types.js'

const require = createRequire(import.meta.url)

/** How long a statement keeps retrying a locked database: Django's default `timeout` (5 s). */
const DEFAULT_BUSY_MS = 5_000

export function openSqlite(settings: DjangoDatabaseSettings): DjangoDatabase {
  const timeout = settings.OPTIONS?.timeout
  const busyMs = typeof timeout === 'number' && timeout >= 0 ? timeout * 1000 : DEFAULT_BUSY_MS
  return new SqliteDatabase(settings.NAME, busyMs)
}

class SqliteDatabase implements DjangoDatabase {
  readonly vendor = 'sqlite'
  readonly label: string
  #db: BetterSqlite3.Database | undefined
  readonly #statements = new Map<string, BetterSqlite3.Statement>()

  constructor(
    readonly path: string,
    readonly busyMs: number,
  ) {
    this.label = path
  }

  one<Row extends Record<string, unknown>>(
    sql: string,
    params: readonly unknown[],
  ): Promise<Row | undefined> {
    return this.#retry(() => this.#statement(sql).get(...params) as Row | undefined)
  }

  run(sql: string, params: readonly unknown[]): Promise<number> {
    return this.#retry(() => this.#statement(sql).run(...params).changes)
  }

  async close(): Promise<void> {
    this.#statements.clear()
    if (this.#db?.open) this.#db.close()
    this.#db = undefined
  }

  #connection(): BetterSqlite3.Database {
    if (this.#db !== undefined) return this.#db
    const Database = require('better-sqlite3') as typeof BetterSqlite3
    // fileMustExist: the file is Django's (migrated by `manage.py migrate`); creating an empty one
    // here would hide a wrong NAME behind "no such table".
    try {
      this.#db = new Database(this.path, { fileMustExist: true, timeout: 0 })
    } catch (error) {
      throw new DjangoDatabaseError(
        `Cannot open Django's SQLite database ${this.path}: ${errorText(error)}`,
        { cause: error },
      )
    }
    return this.#db
  }

  #statement(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#connection().prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  async #retry<T>(attempt: () => T): Promise<T> {
    const deadline = Date.now() + this.busyMs
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      try {
        return attempt()
      } catch (error) {
        if (isBusy(error) && Date.now() + delay <= deadline) {
          await new Promise((resolve) => setTimeout(resolve, delay))
          continue
        }
        if (error instanceof DjangoDatabaseError) throw error
        throw new DjangoDatabaseError(`SQLite ${this.path}: ${errorText(error)}`, { cause: error })
      }
    }
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
}
