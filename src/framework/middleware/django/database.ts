/**
 * Django's database, as the session engine and the user backend need it: a few single-row
 * statements against tables Django owns. One connection (pool) per DATABASES alias, opened on
 * first use and kept until {@link closeDjangoDatabases}.
 * @module
 */
import { ImproperlyConfigured } from '../../asgi/errors.js'
import { getSettings } from '../../settings/index.js'
import type { DjangoDatabaseSettings } from '../../settings/types.js'
import type { DjangoDatabase } from './db-types.js'
import { openPostgres } from './postgres.js'
import { openSqlite } from './sqlite.js'

const SQLITE_ENGINES = new Set(['django.db.backends.sqlite3', 'sqlite3', 'sqlite'])
const POSTGRES_ENGINES = new Set([
  'django.db.backends.postgresql',
  'django.db.backends.postgresql_psycopg2',
  'django.contrib.gis.db.backends.postgis',
  'postgresql',
  'postgres',
])

const open = new Map<string, { settings: DjangoDatabaseSettings; db: DjangoDatabase }>()

/** The DATABASES entry named `alias`, or ImproperlyConfigured saying what is missing. */
export function databaseSettings(alias = 'default'): DjangoDatabaseSettings {
  const databases = getSettings().DATABASES
  const entry = databases?.[alias]
  if (entry === undefined) {
    throw new ImproperlyConfigured(
      databases === undefined
        ? "DATABASES is not set: Django's sessions and users are read from Django's database. " +
            "Copy DATABASES from the Django project's settings (ENGINE, NAME, USER, PASSWORD, HOST, PORT)."
        : `DATABASES has no ${JSON.stringify(alias)} entry.`,
    )
  }
  return entry
}

/** The open database of `alias` (opened on first use with the current settings). */
export function getDjangoDatabase(alias = 'default'): DjangoDatabase {
  const settings = databaseSettings(alias)
  const cached = open.get(alias)
  if (cached !== undefined && cached.settings === settings) return cached.db
  if (cached !== undefined) void cached.db.close()
  const db = openDatabase(settings, alias)
  open.set(alias, { settings, db })
  return db
}

/** Which database an ENGINE names: `'sqlite'`, `'postgresql'`, or null for one not read here. */
export function databaseVendor(engine: string): DjangoDatabase['vendor'] | null {
  if (SQLITE_ENGINES.has(engine)) return 'sqlite'
  if (POSTGRES_ENGINES.has(engine)) return 'postgresql'
  return null
}

/**
 * The `database` option of the store and the backend as a getter: the database given, or
 * DATABASES' `default`, opened on first use (so settings are read when a connection needs them).
 */
export function databaseGetter(
  database: DjangoDatabase | (() => DjangoDatabase) | undefined,
): () => DjangoDatabase {
  if (database === undefined) return () => getDjangoDatabase('default')
  return typeof database === 'function' ? database : () => database
}

/** Open a database from a Django DATABASES entry. */
export function openDatabase(settings: DjangoDatabaseSettings, alias = 'default'): DjangoDatabase {
  const engine = settings.ENGINE
  const vendor = databaseVendor(engine)
  if (vendor === 'sqlite') return openSqlite(settings)
  if (vendor === 'postgresql') return openPostgres(settings)
  throw new ImproperlyConfigured(
    `DATABASES[${JSON.stringify(alias)}].ENGINE is ${JSON.stringify(engine)}: channels-ts reads ` +
      "Django's 'django.db.backends.sqlite3' and 'django.db.backends.postgresql'.",
  )
}

/** Close every database opened through {@link getDjangoDatabase} (tests, shutdown). */
export async function closeDjangoDatabases(): Promise<void> {
  const dbs = [...open.values()].map((entry) => entry.db)
  open.clear()
  await Promise.all(dbs.map((db) => db.close()))
}
