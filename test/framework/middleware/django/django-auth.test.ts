/**
 * AuthMiddlewareStack on Django's tables (SQLite, Django 3.2's schema): the session engine
 * `django.contrib.sessions.backends.db` and DjangoModelBackend, through WebsocketCommunicator.
 * The faults: a database that cannot be reached, tampered, expired and unreadable sessions.
 * (test/e2e/django-auth.test.ts runs the same against a real Django site and PostgreSQL.)
 */
import net from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  setLogHandler,
  type LogHandler,
  type LogRecord,
} from '../../../../src/framework/asgi/logging.js'
import { AsyncWebsocketConsumer } from '../../../../src/framework/consumers/index.js'
import { login, logout, type AuthScope } from '../../../../src/framework/middleware/auth.js'
import { AuthMiddlewareStack } from '../../../../src/framework/middleware/auth.js'
import {
  databaseFromUrl,
  DjangoModelBackend,
  DjangoUser,
  encodeSessionData,
  MODEL_BACKEND,
  userTable,
} from '../../../../src/framework/middleware/django/index.js'
import type { Settings } from '../../../../src/framework/settings/index.js'
import { WebsocketCommunicator } from '../../../../src/framework/testing/index.js'
import { tempDir, useSettings } from '../helpers.js'
import { createDjangoSqlite, type DjangoSqlite } from './django-sqlite.js'
import { runDjango } from './django-python.js'

const SECRET = 'django-secret'
const PASSWORD_HASH = 'pbkdf2_sha256$260000$abc$def'

class WhoAmI extends AsyncWebsocketConsumer<{ scope: AuthScope }> {
  override async connect(): Promise<void> {
    await this.accept()
    const user = this.scope.user
    const staff = user instanceof DjangoUser && user.isStaff
    await this.send({ textData: JSON.stringify({ username: user.username ?? '', staff }) })
  }

  override async receive(text?: string): Promise<void> {
    if (text === 'logout') {
      await logout(this.scope)
      await this.send({ textData: 'logged out' })
    }
  }
}

let records: LogRecord[]
let previousHandler: LogHandler
let dir: string
let cleanup: () => void
let django: DjangoSqlite
let restore: () => void

function configure(extra: Settings = {}): void {
  restore = useSettings({
    SECRET_KEY: SECRET,
    SESSION_ENGINE: 'django.contrib.sessions.backends.db',
    DATABASES: { default: django.settings },
    ...extra,
  })
}

/** A session row as Django's login() leaves it. */
function djangoSession(
  userId: number,
  options: { hash?: string; expire?: string; data?: string; key?: string } = {},
): string {
  const key = options.key ?? `k${String(userId)}${'x'.repeat(30)}`.slice(0, 32)
  const hash =
    options.hash ??
    new DjangoUser(
      { id: userId, password: PASSWORD_HASH },
      {
        backend: MODEL_BACKEND,
        pkColumn: 'id',
        usernameColumn: 'username',
        recordLogin: async () => {},
      },
    ).getSessionAuthHash()
  const data =
    options.data ??
    encodeSessionData(
      { _auth_user_id: String(userId), _auth_user_backend: MODEL_BACKEND, _auth_user_hash: hash },
      { key: SECRET, fallbackKeys: [] },
    )
  django.exec(
    'INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, ?, ?)',
    key,
    data,
    options.expire ?? '2999-01-01 00:00:00.000000',
  )
  return key
}

async function whoami(
  cookie?: string,
  timeout = 1000,
): Promise<{ username: string; staff: boolean }> {
  const ws = new WebsocketCommunicator(
    AuthMiddlewareStack(WhoAmI.asAsgi()),
    '/ws/',
    cookie === undefined ? {} : { headers: [['cookie', `sessionid=${cookie}`]] },
  )
  const [connected] = await ws.connect(timeout)
  expect(connected).toBe(true)
  const reply = JSON.parse(String(await ws.receiveFrom())) as { username: string; staff: boolean }
  await ws.disconnect()
  return reply
}

const sessionRows = (key: string) =>
  django.exec('SELECT session_key FROM django_session WHERE session_key = ?', key)

beforeEach(() => {
  records = []
  previousHandler = setLogHandler((record) => records.push(record))
  ;({ dir, cleanup } = tempDir())
  django = createDjangoSqlite(dir)
  restore = () => {}
})

afterEach(() => {
  restore()
  setLogHandler(previousHandler)
  cleanup()
})

describe("Django's sessions and users on SQLite", () => {
  it('computes the session auth hash exactly as Django 3.2 (and its legacy SHA-1 form)', async () => {
    configure()
    const expected = (await runDjango(
      `
from django.contrib.auth.models import User
u = User(password=ARGS['password'])
print(json.dumps([u.get_session_auth_hash(), u._legacy_get_session_auth_hash()]))
`,
      { secret_key: SECRET, password: PASSWORD_HASH },
    )) as [string, string]
    const user = new DjangoUser(
      { id: 1, password: PASSWORD_HASH },
      {
        backend: MODEL_BACKEND,
        pkColumn: 'id',
        usernameColumn: 'username',
        recordLogin: async () => {},
      },
    )
    expect(user.getSessionAuthHash()).toBe(expected[0])
    expect(user.verifySessionAuthHash(expected[0])).toBe(true)
    expect(user.verifySessionAuthHash(expected[1])).toBe(true)
    expect(user.verifySessionAuthHash('')).toBe(false)
    expect(user.verifySessionAuthHash('0'.repeat(64))).toBe(false)
  })

  it('the Django user of the session is scope.user, by default with no AUTHENTICATION_BACKENDS', async () => {
    const id = django.addUser({ username: 'alice', password: PASSWORD_HASH, isStaff: true })
    configure()
    const key = djangoSession(id)
    expect(await whoami(key)).toEqual({ username: 'alice', staff: true })
    expect(await whoami()).toEqual({ username: '', staff: false })
  })

  it("also under Django's dotted name in AUTHENTICATION_BACKENDS", async () => {
    const id = django.addUser({ username: 'alice', password: PASSWORD_HASH })
    configure({ AUTHENTICATION_BACKENDS: [MODEL_BACKEND] })
    expect((await whoami(djangoSession(id))).username).toBe('alice')
  })

  it('exposes the row read-only, without the password hash', async () => {
    const id = django.addUser({
      username: 'alice',
      password: PASSWORD_HASH,
      email: 'a@example.com',
    })
    configure()
    const user = await new DjangoModelBackend().getUser(String(id))
    expect(user).toBeInstanceOf(DjangoUser)
    expect(user?.fields.email).toBe('a@example.com')
    expect(user?.fields).not.toHaveProperty('password')
    expect(Object.isFrozen(user?.fields)).toBe(true)
    expect(user).toMatchObject({
      id,
      username: 'alice',
      isAuthenticated: true,
      isActive: true,
      isStaff: false,
      isSuperuser: false,
    })
    expect(String(user)).toBe('alice')
  })

  it('a password changed in Django makes the next handshake anonymous and flushes the session', async () => {
    const id = django.addUser({ username: 'alice', password: PASSWORD_HASH })
    configure()
    const key = djangoSession(id)
    expect((await whoami(key)).username).toBe('alice')
    django.exec(
      'UPDATE auth_user SET password = ? WHERE id = ?',
      'pbkdf2_sha256$260000$new$hash',
      id,
    )
    expect((await whoami(key)).username).toBe('')
    expect(sessionRows(key)).toEqual([])
  })

  it('an inactive user is anonymous (ModelBackend)', async () => {
    const id = django.addUser({ username: 'gone', password: PASSWORD_HASH, isActive: false })
    configure()
    expect((await whoami(djangoSession(id))).username).toBe('')
  })

  it("logout() in a consumer deletes Django's session row", async () => {
    const id = django.addUser({ username: 'alice', password: PASSWORD_HASH })
    configure()
    const key = djangoSession(id)
    const ws = new WebsocketCommunicator(AuthMiddlewareStack(WhoAmI.asAsgi()), '/ws/', {
      headers: [['cookie', `sessionid=${key}`]],
    })
    await ws.connect()
    expect(JSON.parse(String(await ws.receiveFrom()))).toMatchObject({ username: 'alice' })
    await ws.sendTo({ textData: 'logout' })
    expect(await ws.receiveFrom()).toBe('logged out')
    await ws.disconnect()
    expect(sessionRows(key)).toEqual([])
    expect((await whoami(key)).username).toBe('')
  })

  it('login() writes what Django writes: the auth keys, a new key, and last_login', async () => {
    const id = django.addUser({ username: 'alice', password: PASSWORD_HASH })
    configure()
    const user = await new DjangoModelBackend().getUser(String(id))
    expect(user).not.toBeNull()
    if (user === null) return
    const { createSession } =
      await import('../../../../src/framework/middleware/sessions/engine.js')
    const session = await createSession(null)
    const scope: Record<string, unknown> = { session }
    await login(scope, user)
    await session.save()
    const key = session.sessionKey
    expect(key).toMatch(/^[a-z0-9]{32}$/)
    const [row] = django.exec(
      'SELECT session_data FROM django_session WHERE session_key = ?',
      key,
    ) as {
      session_data: string
    }[]
    const decoded = await runDjango(
      `
from django.contrib.sessions.backends.db import SessionStore
print(json.dumps(SessionStore().decode(ARGS['data'])))
`,
      { secret_key: SECRET, data: row?.session_data },
    )
    expect(decoded).toEqual({
      _auth_user_id: String(id),
      _auth_user_backend: MODEL_BACKEND,
      _auth_user_hash: user.getSessionAuthHash(),
    })
    const [after] = django.exec('SELECT last_login FROM auth_user WHERE id = ?', id) as {
      last_login: string | null
    }[]
    expect(after?.last_login).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/)
    expect((await whoami(key ?? '')).username).toBe('alice')
  })

  it('a forged cookie is anonymous, the reason logged at debug', async () => {
    django.addUser({ username: 'alice', password: PASSWORD_HASH })
    configure()
    expect((await whoami('forgedforgedforgedforgedforged12')).username).toBe('')
    const debug = records.filter((r) => r.level === 'debug' && r.logger === 'channels.sessions')
    expect(debug.map((r) => r.message)).toEqual([expect.stringMatching(/^Session forg… not found/)])
    expect(records.filter((r) => r.level === 'warn' || r.level === 'error')).toEqual([])
  })

  it('an expired session is anonymous, the reason logged at debug', async () => {
    const id = django.addUser({ username: 'alice', password: PASSWORD_HASH })
    configure()
    const key = djangoSession(id, { expire: '2020-01-01 00:00:00' })
    expect((await whoami(key)).username).toBe('')
    expect(records.find((r) => r.level === 'debug')?.message).toMatch(/expired/)
  })

  it('session data Django 3.2 cannot read is anonymous with a warning', async () => {
    const id = django.addUser({ username: 'alice', password: PASSWORD_HASH })
    configure()
    const key = djangoSession(id, { data: 'eyJub3QiOiJzaWduZWQifQ:1abc:badsignature' })
    expect((await whoami(key)).username).toBe('')
    const warnings = records.filter((r) => r.level === 'warn')
    expect(warnings.map((r) => r.message)).toEqual([
      expect.stringMatching(/neither format Django 3\.2 reads/),
    ])
  })

  it('session data signed with another SECRET_KEY is unreadable; with it in the fallbacks it reads', async () => {
    const id = django.addUser({ username: 'alice', password: PASSWORD_HASH })
    configure({ SECRET_KEY: 'rotated-key' })
    const key = djangoSession(id)
    expect((await whoami(key)).username).toBe('')
    restore()
    // The auth hash was made with the old key too: Django 4.1+ accepts it through the fallbacks.
    configure({ SECRET_KEY: 'rotated-key', SECRET_KEY_FALLBACKS: [SECRET] })
    const second = djangoSession(id, { key: 'second'.padEnd(32, 'y') })
    expect((await whoami(second)).username).toBe('alice')
  })

  it('a user id that is not a key of the table is anonymous', async () => {
    configure()
    const data = encodeSessionData(
      { _auth_user_id: 'not-a-number', _auth_user_backend: MODEL_BACKEND, _auth_user_hash: 'x' },
      { key: SECRET, fallbackKeys: [] },
    )
    const key = djangoSession(1, { data })
    expect((await whoami(key)).username).toBe('')
  })
})

describe('a Django database that cannot be reached', () => {
  it('SQLite file missing: anonymous, an error logged, the connection goes on', async () => {
    configure({
      DATABASES: {
        default: { ENGINE: 'django.db.backends.sqlite3', NAME: `${dir}/missing.sqlite3` },
      },
    })
    expect(await whoami('abcdefghabcdefghabcdefghabcdefgh')).toEqual({ username: '', staff: false })
    const errors = records.filter((r) => r.level === 'error')
    expect(errors.map((r) => r.message)).toEqual([
      expect.stringMatching(/Cannot read the session from Django's database: .*missing\.sqlite3/),
    ])
  })

  it('PostgreSQL refusing connections: anonymous, an error logged', async () => {
    const port = await closedPort()
    configure({
      DATABASES: {
        default: {
          ENGINE: 'django.db.backends.postgresql',
          NAME: 'x',
          HOST: '127.0.0.1',
          PORT: port,
        },
      },
    })
    expect((await whoami('abcdefghabcdefghabcdefghabcdefgh')).username).toBe('')
    expect(records.filter((r) => r.level === 'error').map((r) => r.message)).toEqual([
      expect.stringMatching(
        /Cannot read the session from Django's database: PostgreSQL 127\.0\.0\.1/,
      ),
    ])
  })

  it('PostgreSQL not answering: anonymous after connect_timeout, not a hang', async () => {
    // A socket that accepts and never speaks, as a host behind a dropped route looks.
    const held: net.Socket[] = []
    const silent = net.createServer((socket) => held.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as net.AddressInfo).port
    try {
      configure({
        DATABASES: {
          default: {
            ENGINE: 'django.db.backends.postgresql',
            NAME: 'x',
            HOST: '127.0.0.1',
            PORT: port,
            OPTIONS: { connect_timeout: 1 },
          },
        },
      })
      const started = Date.now()
      expect((await whoami('abcdefghabcdefghabcdefghabcdefgh', 10_000)).username).toBe('')
      // Well before Daphne's 5 s handshake timeout.
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(records.filter((r) => r.level === 'error')).toHaveLength(1)
    } finally {
      for (const socket of held) socket.destroy()
      silent.close()
    }
  })
})

describe('configuration', () => {
  it('AUTH_USER_MODEL names the table as Django does', () => {
    expect(userTable('auth.User')).toBe('auth_user')
    expect(userTable('accounts.CustomUser')).toBe('accounts_customuser')
    expect(() => userTable('User')).toThrow(/app_label\.model_name/)
  })

  it('refuses an unknown ENGINE and a table name that is not SQL', async () => {
    configure({ DATABASES: { default: { ENGINE: 'django.db.backends.mysql', NAME: 'x' } } })
    const backend = new DjangoModelBackend()
    await expect(backend.getUser('1')).rejects.toThrow(
      /django\.db\.backends\.mysql.*sqlite3.*postgresql/,
    )
    expect(() => new DjangoModelBackend({ table: 'auth_user; DROP TABLE x' })).toThrow(
      /not a SQL name/,
    )
  })
})

async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('databaseFromUrl', () => {
  it.each([
    [
      'postgres://u%40x:p%3Aw@db.example:6543/site?sslmode=require&connect_timeout=2',
      {
        ENGINE: 'django.db.backends.postgresql',
        NAME: 'site',
        USER: 'u@x',
        PASSWORD: 'p:w',
        HOST: 'db.example',
        PORT: '6543',
        OPTIONS: { sslmode: 'require', connect_timeout: 2 },
      },
    ],
    [
      'postgresql://localhost/site?host=/var/run/postgresql',
      {
        ENGINE: 'django.db.backends.postgresql',
        NAME: 'site',
        USER: '',
        PASSWORD: '',
        HOST: '/var/run/postgresql',
        PORT: '',
      },
    ],
    [
      'sqlite:////srv/site/db.sqlite3',
      { ENGINE: 'django.db.backends.sqlite3', NAME: '/srv/site/db.sqlite3' },
    ],
    ['sqlite:///db.sqlite3', { ENGINE: 'django.db.backends.sqlite3', NAME: 'db.sqlite3' }],
  ])('%s', (url, expected) => {
    expect(databaseFromUrl(url)).toEqual(expected)
  })

  it.each([
    ['not a url', /not a database URL/],
    ['mysql://u@h/db', /scheme "mysql" is not supported/],
    ['postgres://h/', /names no database/],
    ['sqlite://', /names no file/],
  ])('refuses %s', (url, message) => {
    expect(() => databaseFromUrl(url)).toThrow(message)
  })
})
