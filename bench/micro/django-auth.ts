/**
 * What Django's sessions and users add to a WebSocket handshake: AuthMiddlewareStack in process
 * (WebsocketCommunicator, no sockets), a consumer that accepts and reads `scope.user`, run
 * sequentially so each handshake's database round trips are its own. Variants: no session
 * cookie (the baseline), the in-process `'cache'` engine with a user, and Django's db engine
 * with DjangoModelBackend on SQLite and (with --pg) on PostgreSQL. Prints, per handshake, the
 * wall time and this process's CPU; the difference to the baseline is the cost of the two
 * lookups (session row, user row).
 *
 *   node dist/bench/micro/django-auth.js [--n 2000] [--rounds 3]
 *     [--pg postgres://user:password@127.0.0.1:5432/db]
 *
 * The PostgreSQL database gets Django 3.2's `django_session` and `auth_user` tables if it has
 * none (the DDL `manage.py migrate` runs), and one user and session in them.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import pg from 'pg'
import { AsyncWebsocketConsumer } from '../../src/framework/consumers/index.js'
import { AuthMiddlewareStack, type AuthScope } from '../../src/framework/middleware/auth.js'
import type { AuthBackend, AuthUser } from '../../src/framework/middleware/auth-user.js'
import {
  databaseFromUrl,
  DjangoUser,
  encodeSessionData,
  MODEL_BACKEND,
} from '../../src/framework/middleware/django/index.js'
import {
  closeSessionStores,
  getSessionStore,
} from '../../src/framework/middleware/sessions/engine.js'
import { configureSettings, type Settings } from '../../src/framework/settings/index.js'
import { WebsocketCommunicator } from '../../src/framework/testing/index.js'

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    pg: { type: 'string' },
  },
})
const N = Number(values.n)
const ROUNDS = Number(values.rounds)
const SECRET_KEY = 'bench-secret-key'
const PASSWORD = 'pbkdf2_sha256$260000$benchsalt$benchhash'
const SESSION_KEY = 'benchsessionkey0000000000000000x'

const SQLITE_SCHEMA = `
CREATE TABLE "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" datetime NOT NULL);
CREATE INDEX "django_session_expire_date_a5c62663" ON "django_session" ("expire_date");
CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, "last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, "is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL, "first_name" varchar(150) NOT NULL);
`
const POSTGRES_SCHEMA = `
CREATE TABLE IF NOT EXISTS "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" timestamp with time zone NOT NULL);
CREATE INDEX IF NOT EXISTS "django_session_expire_date_a5c62663" ON "django_session" ("expire_date");
CREATE TABLE IF NOT EXISTS "auth_user" ("id" serial NOT NULL PRIMARY KEY, "password" varchar(128) NOT NULL, "last_login" timestamp with time zone NULL, "is_superuser" boolean NOT NULL, "username" varchar(150) NOT NULL UNIQUE, "first_name" varchar(150) NOT NULL, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, "is_staff" boolean NOT NULL, "is_active" boolean NOT NULL, "date_joined" timestamp with time zone NOT NULL);
`

class Hello extends AsyncWebsocketConsumer<{ scope: AuthScope }> {
  override async connect(): Promise<void> {
    await this.accept()
    await this.send({ textData: this.scope.user.username ?? '' })
  }
}

/** The session data Django's login() leaves for user 1. */
function sessionData(): string {
  const user = new DjangoUser(
    { id: 1, username: 'alice', password: PASSWORD },
    {
      backend: MODEL_BACKEND,
      pkColumn: 'id',
      usernameColumn: 'username',
      recordLogin: async () => {},
    },
  )
  return encodeSessionData(
    {
      _auth_user_id: '1',
      _auth_user_backend: MODEL_BACKEND,
      _auth_user_hash: user.getSessionAuthHash(),
    },
    { key: SECRET_KEY, fallbackKeys: [] },
  )
}

const FAR_FUTURE_TEXT = '2999-01-01 00:00:00.000000'

function prepareSqlite(path: string): void {
  const db = new Database(path)
  db.exec(SQLITE_SCHEMA)
  db.prepare(
    `INSERT INTO auth_user (password, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name)
     VALUES (?, 0, 'alice', '', '', 0, 1, '2026-01-01 00:00:00', '')`,
  ).run(PASSWORD)
  db.prepare('INSERT INTO django_session VALUES (?, ?, ?)').run(
    SESSION_KEY,
    sessionData(),
    FAR_FUTURE_TEXT,
  )
  db.close()
}

async function preparePostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(POSTGRES_SCHEMA)
    await client.query('DELETE FROM django_session WHERE session_key = $1', [SESSION_KEY])
    await client.query(
      `INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
       VALUES (1, $1, false, 'alice', '', '', '', false, true, now())
       ON CONFLICT (id) DO UPDATE SET password = EXCLUDED.password, is_active = true`,
      [PASSWORD],
    )
    await client.query('INSERT INTO django_session VALUES ($1, $2, $3)', [
      SESSION_KEY,
      sessionData(),
      new Date('2999-01-01T00:00:00Z'),
    ])
  } finally {
    await client.end()
  }
}

/** A backend answering from memory: the 'cache' variant's user lookup costs nothing. */
class MemoryBackend implements AuthBackend {
  readonly name = 'memory'
  readonly #user: AuthUser = { id: 1, username: 'alice' }
  getUser(): AuthUser {
    return this.#user
  }
}

interface Variant {
  name: string
  settings: Settings
  cookie: string | null
  prepare?(): Promise<void>
}

async function measure(variant: Variant): Promise<{ wallUs: number; cpuUs: number }[]> {
  configureSettings({ SECRET_KEY, ...variant.settings })
  await variant.prepare?.()
  const app = AuthMiddlewareStack(Hello.asAsgi())
  const headers: [string, string][] =
    variant.cookie === null ? [] : [['cookie', `sessionid=${variant.cookie}`]]
  const once = async (): Promise<void> => {
    const ws = new WebsocketCommunicator(app, '/ws/', { headers })
    await ws.connect(10_000)
    const name = await ws.receiveFrom(10_000)
    if (variant.cookie !== null && name !== 'alice') {
      throw new Error(`${variant.name}: the handshake saw ${JSON.stringify(name)}, not alice`)
    }
    await ws.disconnect()
  }
  for (let i = 0; i < Math.min(200, N); i++) await once() // warm-up: JIT, pool, prepared statements
  const rounds = []
  for (let round = 0; round < ROUNDS; round++) {
    const cpu = process.cpuUsage()
    const started = process.hrtime.bigint()
    for (let i = 0; i < N; i++) await once()
    const wallNs = Number(process.hrtime.bigint() - started)
    const used = process.cpuUsage(cpu)
    rounds.push({ wallUs: wallNs / 1000 / N, cpuUs: (used.user + used.system) / N })
  }
  closeSessionStores()
  return rounds
}

async function main(): Promise<void> {
  // The auth hash written into the sessions is made with SECRET_KEY.
  configureSettings({ SECRET_KEY })
  const dir = mkdtempSync(join(tmpdir(), 'bench-django-auth-'))
  const sqlitePath = join(dir, 'db.sqlite3')
  prepareSqlite(sqlitePath)
  const variants: Variant[] = [
    { name: 'no session cookie (baseline)', settings: { SESSION_ENGINE: 'cache' }, cookie: null },
    {
      name: "'cache' engine, user from memory",
      settings: { SESSION_ENGINE: 'cache', AUTHENTICATION_BACKENDS: [new MemoryBackend()] },
      cookie: SESSION_KEY,
      async prepare() {
        const store = getSessionStore('cache')
        await store?.save(
          SESSION_KEY,
          { _auth_user_id: '1', _auth_user_backend: 'memory' },
          new Date('2999-01-01T00:00:00Z'),
          true,
        )
      },
    },
    {
      name: 'Django db engine + ModelBackend, SQLite',
      settings: {
        SESSION_ENGINE: 'django.contrib.sessions.backends.db',
        DATABASES: { default: { ENGINE: 'django.db.backends.sqlite3', NAME: sqlitePath } },
      },
      cookie: SESSION_KEY,
    },
  ]
  const pgUrl = values.pg
  if (pgUrl !== undefined) {
    variants.push({
      name: 'Django db engine + ModelBackend, PostgreSQL',
      settings: {
        SESSION_ENGINE: 'django.contrib.sessions.backends.db',
        DATABASES: { default: databaseFromUrl(pgUrl) },
      },
      cookie: SESSION_KEY,
      prepare: () => preparePostgres(pgUrl),
    })
  }
  console.log(
    `${String(N)} sequential handshakes per round, ${String(ROUNDS)} rounds; µs per handshake`,
  )
  for (const variant of variants) {
    const rounds = await measure(variant)
    const wall = rounds.map((r) => r.wallUs.toFixed(1)).join(' / ')
    const cpu = rounds.map((r) => r.cpuUs.toFixed(1)).join(' / ')
    console.log(`${variant.name.padEnd(46)} wall ${wall}   cpu ${cpu}`)
  }
  rmSync(dir, { recursive: true, force: true })
}

await main()
