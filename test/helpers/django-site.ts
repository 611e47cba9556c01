/**
 * A real Django 3.2 site for tests of Django's sessions and users: the django-auth fixture
 * (test/fixtures/django-auth) served by `manage.py runserver` on a free port, on SQLite or on a
 * PostgreSQL from `startPostgres()`, after `manage.py migrate`. runserver keeps its default of a
 * thread per request, so a slow request (a password hash) does not hold up the others. A shell
 * watchdog holds runserver and kills it when its stdin pipe closes, so a test process that dies
 * leaves no Django behind.
 * @module
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import type { PostgresServer } from './postgres.js'
import { alive, killAtExit, readWatchdogPid, stopWatched, type Watched } from './watchdog.js'

/** Debian's Python, which has Django 3.2 and psycopg2 (a pyenv `python3` on PATH may not). */
export const PYTHON = '/usr/bin/python3'
export const DJANGO_AUTH_FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'django-auth')
/** Django's SESSION_COOKIE_NAME, which the fixture leaves at its default. */
export const SESSION_COOKIE = 'sessionid'

const INSTALL_HINT = "install Debian's Django: apt-get install python3-django python3-psycopg2"

export type DjangoDatabase =
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; server: PostgresServer }

export interface DjangoSiteOptions {
  database: DjangoDatabase
  /** Django's SECRET_KEY, which signs the session data. */
  secretKey: string
  /** Django's SESSION_ENGINE (default `django.contrib.sessions.backends.db`). */
  sessionEngine?: string
  /** Serve on this port (default: a free one). */
  port?: number
  /** The Python with Django (default PYTHON). */
  python?: string
}

export interface DjangoUserExtra {
  isStaff?: boolean
  isSuperuser?: boolean
  isActive?: boolean
  email?: string
  firstName?: string
  lastName?: string
}

export interface DjangoWhoami {
  username: string
  authenticated: boolean
}

export interface DjangoSite {
  /** `http://127.0.0.1:PORT` */
  url: string
  port: number
  /** The environment manage.py runs with (settings module, DJANGO_* settings, Python flags). */
  env: Record<string, string>
  /** Run `manage.py ...args` in the fixture; resolves with stdout, rejects with stderr. */
  manage(...args: string[]): Promise<string>
  /** Create a user with a hashed password (Django's default hasher); resolves with its id. */
  createUser(username: string, password: string, extra?: DjangoUserExtra): Promise<number>
  /** Log in through Django's login(); resolves with the session cookie's value. */
  login(username: string, password: string): Promise<string>
  /** Who Django says the session cookie (or no cookie) belongs to. */
  whoami(sessionid?: string): Promise<DjangoWhoami>
  /** Log out through Django's logout(), which deletes the session. */
  logout(sessionid: string): Promise<void>
  /**
   * Set a user's password as a change elsewhere would (no update_session_auth_hash), so every
   * session that user has stops authenticating.
   */
  setPassword(username: string, password: string): Promise<void>
  /** The runserver process id. */
  pid(): number
  /** What runserver and Django wrote so far (stdout and stderr, interleaved). */
  output(): string
  /** Stop runserver and wait for it to exit. */
  stop(): Promise<void>
}

interface Running extends Watched {
  output: string
}

const running = new Set<Running>()

// $1 = python, the rest are its arguments. The watchdog prints Django's pid, then waits for a
// signal name (or EOF) on stdin, passes it on and waits for Django to exit. Django's output goes
// to the watchdog's stderr, so stdout carries only the pid.
const WATCHDOG = [
  'python="$1"; shift',
  '"$python" "$@" </dev/null 1>&2 &',
  'pid=$!',
  'echo "$pid"',
  'read -r sig || sig=KILL',
  'kill -s "${sig:-KILL}" "$pid" 2>/dev/null',
  'wait "$pid"',
  'exit 0',
].join('\n')

function siteEnv(options: DjangoSiteOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    // Keeps __pycache__ out of the fixture folder in the repository.
    PYTHONDONTWRITEBYTECODE: '1',
    DJANGO_SETTINGS_MODULE: 'authsite.settings',
    DJANGO_SECRET_KEY: options.secretKey,
  }
  if (options.sessionEngine !== undefined) env.DJANGO_SESSION_ENGINE = options.sessionEngine
  const db = options.database
  if (db.kind === 'sqlite') {
    env.DJANGO_DB = 'sqlite'
    env.DJANGO_SQLITE_PATH = db.path
  } else {
    env.DJANGO_DB = 'postgres'
    env.DJANGO_PG_HOST = db.server.host
    env.DJANGO_PG_PORT = String(db.server.port)
    env.DJANGO_PG_NAME = db.server.database
    env.DJANGO_PG_USER = db.server.user
    env.DJANGO_PG_PASSWORD = db.server.password
  }
  return env
}

function manage(python: string, env: Record<string, string>, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['manage.py', ...args], {
      cwd: DJANGO_AUTH_FIXTURE,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout)
      else reject(new Error(`manage.py ${args[0] ?? ''} (${code ?? signal}):\n${stderr.trim()}`))
    })
  })
}

function launch(python: string, env: Record<string, string>, port: number): Running {
  const args = ['manage.py', 'runserver', '--noreload', `127.0.0.1:${port}`]
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'django-watchdog', python, ...args], {
    cwd: DJANGO_AUTH_FIXTURE,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => watchdog.once('exit', () => resolve()))
  const server: Running = { watchdog, pid: 0, exited, output: '' }
  watchdog.stderr.on('data', (chunk: Buffer) => (server.output += chunk.toString()))
  return server
}

async function halt(server: Running, signal: 'TERM' | 'KILL'): Promise<void> {
  await stopWatched(server, signal, 5_000)
  running.delete(server)
}

/** Does runserver answer, as process `pid`? The port may belong to another server. */
async function answersAs(url: string, pid: number): Promise<boolean> {
  try {
    const response = await fetch(`${url}/pid/`, { signal: AbortSignal.timeout(1_000) })
    const body = (await response.json()) as { pid?: unknown }
    return body.pid === pid
  } catch {
    return false
  }
}

/** Start runserver on `port` and wait until it answers; rejects if it exits first. */
async function startOn(python: string, env: Record<string, string>, port: number) {
  const server = launch(python, env, port)
  server.pid = await readWatchdogPid(server.watchdog, server.exited, 'django')
  running.add(server)
  const deadline = Date.now() + 20_000
  for (;;) {
    if (await answersAs(`http://127.0.0.1:${port}`, server.pid)) return server
    if (!alive(server.pid) || Date.now() > deadline) {
      await halt(server, 'KILL')
      throw new Error(`runserver on port ${port} did not answer:\n${server.output.slice(-3_000)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The Python literal for a JSON document: a JSON string is also a valid Python str literal. */
const pythonJson = (value: unknown) => `json.loads(${JSON.stringify(JSON.stringify(value))})`

const CREATE_USER = (data: unknown) =>
  [
    'import json',
    'from django.contrib.auth import get_user_model',
    `d = ${pythonJson(data)}`,
    'u = get_user_model()(',
    '    username=d["username"], email=d["email"], first_name=d["firstName"],',
    '    last_name=d["lastName"], is_staff=d["isStaff"], is_superuser=d["isSuperuser"],',
    '    is_active=d["isActive"],',
    ')',
    'u.set_password(d["password"])',
    'u.save()',
    'print(u.pk)',
  ].join('\n')

async function expectOk(response: Response, what: string): Promise<unknown> {
  const text = await response.text()
  if (response.status !== 200)
    throw new Error(`${what}: Django answered ${response.status} ${text}`)
  return JSON.parse(text)
}

/**
 * Migrate the fixture's database, then serve it with `manage.py runserver` on a free port (or
 * `options.port`); resolves once it answers HTTP.
 */
export async function startDjangoSite(options: DjangoSiteOptions): Promise<DjangoSite> {
  const python = options.python ?? PYTHON
  if (!existsSync(python)) throw new Error(`${python} not found: ${INSTALL_HINT}`)
  const env = siteEnv(options)
  try {
    await manage(python, env, ['migrate', '--noinput'])
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    const hint = /No module named '(django|psycopg2)'/.test(why) ? `\n${INSTALL_HINT}` : ''
    throw new Error(`Django site did not migrate: ${why}${hint}`, { cause: error })
  }
  killAtExit(running, 'SIGKILL')
  let port = options.port ?? (await freePort())
  let current: Running | null = null
  // A free port can be taken before runserver binds it: try a few when none was asked for.
  for (let attempt = 1; current === null; attempt++) {
    try {
      current = await startOn(python, env, port)
    } catch (error) {
      if (options.port !== undefined || attempt >= 3) throw error
      port = await freePort()
    }
  }
  const server = current
  const url = `http://127.0.0.1:${port}`
  const cookie = (sessionid: string) => ({ cookie: `${SESSION_COOKIE}=${sessionid}` })
  const post = (path: string, form: Record<string, string>, sessionid?: string) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: sessionid === undefined ? {} : cookie(sessionid),
      redirect: 'manual',
    })
  let stopped = false
  return {
    url,
    port,
    env,
    manage: (...args) => manage(python, env, args),
    async createUser(username, password, extra = {}) {
      const data = {
        username,
        password,
        email: extra.email ?? '',
        firstName: extra.firstName ?? '',
        lastName: extra.lastName ?? '',
        isStaff: extra.isStaff ?? false,
        isSuperuser: extra.isSuperuser ?? false,
        isActive: extra.isActive ?? true,
      }
      return Number(await manage(python, env, ['shell', '-c', CREATE_USER(data)]))
    },
    async login(username, password) {
      const response = await post('/login/', { username, password })
      await expectOk(response, `login as ${username}`)
      const prefix = `${SESSION_COOKIE}=`
      const setCookie = response.headers.getSetCookie().find((line) => line.startsWith(prefix))
      if (setCookie === undefined) throw new Error(`login as ${username}: no ${SESSION_COOKIE}`)
      return setCookie.slice(prefix.length).split(';')[0]!
    },
    async whoami(sessionid) {
      const response = await fetch(`${url}/whoami/`, {
        headers: sessionid === undefined ? {} : cookie(sessionid),
      })
      return (await expectOk(response, 'whoami')) as DjangoWhoami
    },
    async logout(sessionid) {
      await expectOk(await post('/logout/', {}, sessionid), 'logout')
    },
    async setPassword(username, password) {
      await expectOk(await post('/set-password/', { username, password }), `set-password`)
    },
    pid: () => server.pid,
    output: () => server.output,
    async stop() {
      if (stopped) return
      stopped = true
      await halt(server, 'TERM')
    },
  }
}
