import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from './free-port.js'
import {
  DJANGO_AUTH_FIXTURE,
  PYTHON,
  startDjangoSite,
  type DjangoDatabase,
  type DjangoSite,
} from './django-site.js'
import { startPostgres, type PostgresServer } from './postgres.js'

const SECRET_KEY = 'django-site-test-secret-key'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

let dir: string
let postgres: PostgresServer

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'django-site-'))
  postgres = await startPostgres()
})

afterAll(async () => {
  await postgres.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** Django's own view of a table's row, through the ORM (`manage.py shell`). */
async function ormRow(site: DjangoSite, username: string): Promise<Record<string, unknown>> {
  const code = [
    'import json',
    'from django.contrib.auth.models import User',
    `u = User.objects.get(username=${JSON.stringify(username)})`,
    'print(json.dumps({"is_staff": u.is_staff, "is_superuser": u.is_superuser,',
    '  "is_active": u.is_active, "email": u.email, "first_name": u.first_name,',
    '  "last_name": u.last_name, "id": u.pk, "hasher": u.password.split("$")[0]}))',
  ].join('\n')
  return JSON.parse(await site.manage('shell', '-c', code)) as Record<string, unknown>
}

const databases: [string, () => DjangoDatabase][] = [
  ['SQLite', () => ({ kind: 'sqlite', path: join(dir, 'db.sqlite3') })],
  ['PostgreSQL', () => ({ kind: 'postgres', server: postgres })],
]

describe.each(databases)('startDjangoSite on %s', (_name, database) => {
  let site: DjangoSite

  beforeAll(async () => {
    site = await startDjangoSite({ database: database(), secretKey: SECRET_KEY })
  })

  afterAll(async () => {
    await site.stop()
  })

  it('serves on a free port with the environment manage.py needs', async () => {
    expect(site.url).toBe(`http://127.0.0.1:${site.port}`)
    expect(site.env).toMatchObject({
      DJANGO_SETTINGS_MODULE: 'authsite.settings',
      DJANGO_SECRET_KEY: SECRET_KEY,
    })
    expect(await site.manage('showmigrations', 'sessions')).toMatch(/\[X\] 0001_initial/)
    // The env alone is enough to run manage.py the way a test would by hand.
    const result = spawnSync(PYTHON, ['manage.py', 'check'], {
      cwd: DJANGO_AUTH_FIXTURE,
      env: site.env,
      encoding: 'utf8',
    })
    expect(result.stdout).toMatch(/no issues/)
  })

  it('logs a user in: whoami knows the cookie, and nobody without it', async () => {
    const id = await site.createUser('alice', 's3cret')
    expect(id).toBeGreaterThan(0)
    const sessionid = await site.login('alice', 's3cret')
    expect(sessionid).toMatch(/^[a-z0-9]{32}$/)
    expect(await site.whoami(sessionid)).toEqual({ username: 'alice', authenticated: true })
    expect(await site.whoami()).toEqual({ username: '', authenticated: false })
    expect(await site.whoami('not-a-session')).toEqual({ username: '', authenticated: false })
  })

  it('a password change elsewhere ends the old session', async () => {
    await site.createUser('bob', 'old-password')
    const sessionid = await site.login('bob', 'old-password')
    await site.setPassword('bob', 'new-password')
    expect(await site.whoami(sessionid)).toEqual({ username: '', authenticated: false })
    await expect(site.login('bob', 'old-password')).rejects.toThrow(
      'login as bob: Django answered 403 {"error": "invalid credentials"}',
    )
    const fresh = await site.login('bob', 'new-password')
    expect(await site.whoami(fresh)).toEqual({ username: 'bob', authenticated: true })
  })

  it('logout ends the session', async () => {
    await site.createUser('carol', 'pw')
    const sessionid = await site.login('carol', 'pw')
    const other = await site.login('carol', 'pw')
    await site.logout(sessionid)
    expect(await site.whoami(sessionid)).toEqual({ username: '', authenticated: false })
    expect(await site.whoami(other)).toEqual({ username: 'carol', authenticated: true })
  })

  it('creates users with the flags and names it is given', async () => {
    await site.createUser('dora', 'pw', {
      isStaff: true,
      isSuperuser: true,
      email: 'dora@example.com',
      firstName: 'Dora',
      lastName: 'Q',
    })
    expect(await ormRow(site, 'dora')).toMatchObject({
      is_staff: true,
      is_superuser: true,
      is_active: true,
      email: 'dora@example.com',
      first_name: 'Dora',
      last_name: 'Q',
      hasher: 'pbkdf2_sha256',
    })
    // Django's ModelBackend refuses inactive users.
    await site.createUser('eve', 'pw', { isActive: false })
    await expect(site.login('eve', 'pw')).rejects.toThrow(/Django answered 403/)
  })

  it('rejects unknown users and failed commands with Django’s answer', async () => {
    await expect(site.setPassword('nobody', 'pw')).rejects.toThrow(
      'set-password: Django answered 404 {"error": "no such user"}',
    )
    await expect(site.createUser('alice', 'again')).rejects.toThrow(
      /manage.py shell \(1\):[\s\S]*IntegrityError/,
    )
    await expect(site.manage('no-such-command')).rejects.toThrow(/Unknown command/)
  })
})

describe('startDjangoSite', () => {
  it('passes the session engine through (signed cookies hold the session itself)', async () => {
    const site = await startDjangoSite({
      database: { kind: 'sqlite', path: join(dir, 'signed.sqlite3') },
      secretKey: SECRET_KEY,
      sessionEngine: 'django.contrib.sessions.backends.signed_cookies',
    })
    try {
      await site.createUser('frank', 'pw')
      const cookie = await site.login('frank', 'pw')
      // signing.dumps(compress=True): '.' + base64 zlib JSON, then timestamp and signature.
      expect(cookie).toMatch(/^\.[\w-]+:[\w-]+:[\w-]+$/)
      expect(await site.whoami(cookie)).toEqual({ username: 'frank', authenticated: true })
    } finally {
      await site.stop()
    }
  })

  it('stops runserver, uses the port it is given, and fails clearly when it is taken', async () => {
    const port = await freePort()
    const database: DjangoDatabase = { kind: 'sqlite', path: join(dir, 'port.sqlite3') }
    const site = await startDjangoSite({ database, secretKey: SECRET_KEY, port })
    try {
      expect(site.port).toBe(port)
      await expect(startDjangoSite({ database, secretKey: SECRET_KEY, port })).rejects.toThrow(
        new RegExp(`runserver on port ${port} did not answer:[\\s\\S]*already in use`),
      )
    } finally {
      await site.stop()
    }
    expect(alive(site.pid())).toBe(false)
    await expect(site.whoami()).rejects.toThrow(/fetch failed/)
    await site.stop()
  })

  it('says why Django did not start', async () => {
    const database: DjangoDatabase = { kind: 'sqlite', path: join(dir, 'unused.sqlite3') }
    await expect(startDjangoSite({ database, secretKey: '' })).rejects.toThrow(
      /Django site did not migrate: manage.py migrate \(1\):[\s\S]*set DJANGO_SECRET_KEY/,
    )
    await expect(
      startDjangoSite({ database, secretKey: SECRET_KEY, python: '/nonexistent/python3' }),
    ).rejects.toThrow(
      "/nonexistent/python3 not found: install Debian's Django: " +
        'apt-get install python3-django python3-psycopg2',
    )
    const stopped = await startPostgres()
    await stopped.stop()
    await expect(
      startDjangoSite({ database: { kind: 'postgres', server: stopped }, secretKey: SECRET_KEY }),
    ).rejects.toThrow(/Django site did not migrate:[\s\S]*OperationalError/)
  })

  it('leaves no runserver behind when the process that started it dies', async () => {
    // A plain node process runs the helper (bundled to JS) and kills itself with SIGKILL.
    const bundle = join(dir, 'django-site.mjs')
    await build({
      entryPoints: [join(import.meta.dirname, 'django-site.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundle,
      logLevel: 'silent',
      // The bundle lives elsewhere; the fixture path stays the one next to this file.
      define: { 'import.meta.dirname': JSON.stringify(import.meta.dirname) },
    })
    const database = { kind: 'sqlite', path: join(dir, 'orphan.sqlite3') }
    const script = [
      `const { startDjangoSite } = await import(${JSON.stringify(bundle)})`,
      `const site = await startDjangoSite(${JSON.stringify({ database, secretKey: SECRET_KEY })})`,
      'console.log(site.pid())',
      "process.kill(process.pid, 'SIGKILL')",
    ].join('\n')
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    })
    const pid = Number(result.stdout.trim())
    expect(pid, result.stderr).toBeGreaterThan(0)
    // The watchdog sees its stdin close and kills runserver; give it a moment.
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20))
    expect(alive(pid)).toBe(false)
  })
})
