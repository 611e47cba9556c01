/**
 * Django's PostgreSQL database through node-postgres (`pg`, an optional peer dependency): a small
 * pool, with connect and query timeouts short enough that a handshake waiting on an unreachable
 * database ends before the server's handshake timeout.
 * @module
 */
import { createRequire } from 'node:module'
import type { Pool, PoolConfig } from 'pg'
import { ImproperlyConfigured } from '../../asgi/errors.js'
import { getLogger } from '../../asgi/logging.js'
import type { DjangoDatabaseSettings } from '../../settings/types.js'
import { errorText } from '../../../util/describe.js'
import { DjangoDatabaseError, type DjangoDatabase } from './db-types.js'

const require = createRequire(import.meta.url)
const logger = getLogger('channels.django')

/** Connect and query budget; Daphne's handshake timeout is 5 s. */
const DEFAULT_TIMEOUT_MS = 3_000
/** libpq's socket directory on Debian, where Django (psycopg2) connects when HOST is empty. */
const DEFAULT_SOCKET_DIR = '/var/run/postgresql'

export function openPostgres(settings: DjangoDatabaseSettings): DjangoDatabase {
  return new PostgresDatabase(poolConfig(settings))
}

/** node-postgres's pool options from a Django DATABASES entry. */
export function poolConfig(settings: DjangoDatabaseSettings): PoolConfig {
  const options = settings.OPTIONS ?? {}
  const connectTimeout = options.connect_timeout
  const timeoutMs =
    typeof connectTimeout === 'number' && connectTimeout > 0
      ? connectTimeout * 1000
      : DEFAULT_TIMEOUT_MS
  const port = settings.PORT === undefined || settings.PORT === '' ? 5432 : Number(settings.PORT)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new ImproperlyConfigured(
      `DATABASES PORT ${JSON.stringify(settings.PORT)} is not a port number.`,
    )
  }
  const config: PoolConfig = {
    host: settings.HOST === undefined || settings.HOST === '' ? DEFAULT_SOCKET_DIR : settings.HOST,
    port,
    database: settings.NAME,
    max: 4,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'channels-ts',
    // Idle pooled connections must not keep a stopping process alive.
    allowExitOnIdle: true,
  }
  if (settings.USER !== undefined && settings.USER !== '') config.user = settings.USER
  if (settings.PASSWORD !== undefined && settings.PASSWORD !== '')
    config.password = settings.PASSWORD
  const sslmode = options.sslmode
  if (sslmode === 'require' || sslmode === 'verify-ca' || sslmode === 'verify-full') {
    config.ssl = { rejectUnauthorized: sslmode !== 'require' }
  } else if (sslmode !== undefined && sslmode !== 'disable' && sslmode !== 'prefer') {
    throw new ImproperlyConfigured(
      `DATABASES OPTIONS.sslmode ${JSON.stringify(sslmode)} is not supported: use 'disable', ` +
        "'prefer', 'require', 'verify-ca' or 'verify-full'.",
    )
  }
  return config
}

class PostgresDatabase implements DjangoDatabase {
  readonly vendor = 'postgresql'
  readonly label: string
  #pool: Pool | undefined

  constructor(readonly config: PoolConfig) {
    this.label = `${String(config.host)}:${String(config.port)}/${String(config.database)}`
  }

  async one<Row extends Record<string, unknown>>(
    sql: string,
    params: readonly unknown[],
  ): Promise<Row | undefined> {
    const result = await this.#query(sql, params)
    return result.rows[0] as Row | undefined
  }

  async run(sql: string, params: readonly unknown[]): Promise<number> {
    return (await this.#query(sql, params)).rowCount ?? 0
  }

  async close(): Promise<void> {
    const pool = this.#pool
    this.#pool = undefined
    await pool?.end()
  }

  async #query(sql: string, params: readonly unknown[]) {
    try {
      return await this.#connection().query(numbered(sql), [...params])
    } catch (error) {
      if (error instanceof ImproperlyConfigured) throw error
      throw new DjangoDatabaseError(`PostgreSQL ${this.label}: ${errorText(error)}`, {
        cause: error,
      })
    }
  }

  #connection(): Pool {
    if (this.#pool !== undefined) return this.#pool
    let pg: { Pool: new (config: PoolConfig) => Pool }
    try {
      pg = require('pg') as typeof pg
    } catch (error) {
      throw new ImproperlyConfigured(
        "DATABASES names PostgreSQL, which needs node-postgres: run 'npm install pg'.",
        { cause: error },
      )
    }
    const pool = new pg.Pool(this.config)
    // An idle connection the server drops (a restart) is an 'error' event: without a listener it
    // would be an uncaught exception. The next query opens a fresh connection.
    pool.on('error', (error) => {
      logger.warn(`PostgreSQL ${this.label}: idle connection lost: ${errorText(error)}`)
    })
    this.#pool = pool
    return pool
  }
}

/** `?` placeholders as PostgreSQL's `$1, $2, …` (the statements here have no `?` literals). */
function numbered(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${String(++n)}`)
}
