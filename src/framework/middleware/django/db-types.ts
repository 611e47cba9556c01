/**
 * The contract of a Django database connection (SQLite or PostgreSQL), its error, and the
 * helpers its statements share.
 * @module
 */
import { ImproperlyConfigured } from '../../asgi/errors.js'

/** A Django database as the statements here use it. SQL is written with `?` placeholders. */
export interface DjangoDatabase {
  /** `'sqlite'` or `'postgresql'`, Django's `connection.vendor`. */
  readonly vendor: 'sqlite' | 'postgresql'
  /** A short description for log lines: the file, or `host:port/name`. */
  readonly label: string
  /** The first row of a query, or undefined. */
  one<Row extends Record<string, unknown>>(
    sql: string,
    params: readonly unknown[],
  ): Promise<Row | undefined>
  /** Run a statement; resolves to the number of rows it changed. */
  run(sql: string, params: readonly unknown[]): Promise<number>
  close(): Promise<void>
}

/** What a database error looks like to the code that must decide whether to log it loudly. */
export class DjangoDatabaseError extends Error {
  override readonly name = 'DjangoDatabaseError'
}

/**
 * A datetime parameter as Django stores it with USE_TZ: on SQLite, UTC text
 * `YYYY-MM-DD HH:MM:SS.ffffff` (text compares in time order); on PostgreSQL a
 * `timestamp with time zone`, which node-postgres writes from a Date.
 */
export function dateParam(db: DjangoDatabase, date: Date): string | Date {
  if (db.vendor !== 'sqlite') return date
  return `${date.toISOString().slice(0, 23).replace('T', ' ')}000`
}

/** `name` when it is a plain SQL identifier (table and column names are interpolated). */
export function sqlName(name: string, what: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ImproperlyConfigured(`The ${what} ${JSON.stringify(name)} is not a SQL name.`)
  }
  return name
}
