/**
 * The system checks (src/cli/checks.ts) through `main` with a fake server: Django's report format,
 * each id, warnings that do not stop the server, SILENCED_SYSTEM_CHECKS, `runserver
 * --skip-checks` and `--nothreading`, serve's checks, and serve's `--log-fmt`.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { compileLogFormat } from '../../src/cli/log-handler.js'
import { runCli } from './fake-server.js'
import { createFixture, type Fixture } from './project-fixture.js'

let fixture: Fixture | undefined
afterEach(() => {
  fixture?.cleanup()
  fixture = undefined
})

const SECRET_KEY = 'k'.repeat(20) + 'x7#q'.repeat(10)

async function run(argv: string[], settings: Record<string, unknown> = {}) {
  fixture?.cleanup()
  fixture = createFixture(settings, {
    'mysite/numbers.ts': 'export const answer = 42\n',
  })
  return runCli(argv, { cwd: fixture.dir })
}

const runserver = (settings: Record<string, unknown>, ...args: string[]) =>
  run(['runserver', '--noreload', ...args], settings)

describe('runserver', () => {
  it("prints Django's report for an error and exits 1 without serving", async () => {
    const result = await runserver({ ASGI_APPLICATION: 'mysite.nothing.application' })
    expect(result.code).toBe(1)
    expect(result.server.started).toBe(false)
    expect(result.stdout).toBe('Performing system checks...\n\n')
    expect(result.stderr).toBe(
      [
        'SystemCheckError: System check identified some issues:',
        '',
        'ERRORS:',
        "?: (channels.E001) Cannot import ASGI_APPLICATION module 'mysite.nothing'",
        `\tHINT: Module paths resolve against the project folder ${fixture!.dir}: ` +
          "'mysite.routing.application' for `export const application` in mysite/routing.ts.",
        '',
        'System check identified 1 issue (0 silenced).',
        '',
      ].join('\n'),
    )
  })

  it('reports every error of the settings at once, sorted, with a count', async () => {
    const result = await runserver({
      DEBUG: false,
      ALLOWED_HOSTS: ['*'],
      ASGI_APPLICATION: undefined,
      CHANNEL_LAYERS: {
        default: { BACKEND: 'channels_postgres.core.PostgresChannelLayer' },
        other: { CONFIG: {} },
      },
    })
    expect(result.code).toBe(1)
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('?: '))
    expect(lines).toEqual([
      '?: (channels.E001) You have not set ASGI_APPLICATION, which is needed to run the server.',
      "?: (channels.E003) Cannot import BACKEND 'channels_postgres.core.PostgresChannelLayer' " +
        'specified for default.',
      '?: (channels.E003) No BACKEND specified for other.',
      '?: (channels.E004) The SECRET_KEY setting must not be empty when DEBUG is False.',
    ])
    expect(result.stderr).toContain(
      "\tHINT: Known backends: 'channels.layers.InMemoryChannelLayer', 'InMemoryChannelLayer', " +
        "'channels_redis.core.RedisChannelLayer', 'RedisChannelLayer', " +
        "'channels_redis.pubsub.RedisPubSubChannelLayer', 'RedisPubSubChannelLayer'.",
    )
    expect(result.stderr).toMatch(/\n\nSystem check identified 4 issues \(0 silenced\)\.\n$/)
  })

  it('channels.E002: the export is missing or not an application', async () => {
    const missing = await runserver({ ASGI_APPLICATION: 'mysite.routing.app' })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(
      "?: (channels.E002) Cannot find 'app' in ASGI_APPLICATION module mysite.routing\n\tHINT: ",
    )
    const number = await runserver({ ASGI_APPLICATION: 'mysite.numbers.answer' })
    expect(number.code).toBe(1)
    expect(number.stderr).toContain(
      "?: (channels.E002) 'answer' in mysite.numbers is not an ASGI application (got a number).",
    )
    expect(number.stderr).toContain('System check identified 1 issue (0 silenced).')
  })

  it("channels.E005: startproject's key with DEBUG off; DEBUG on accepts it", async () => {
    const key = 'channels-insecure-' + 'a1!'.repeat(17)
    const production = { DEBUG: false, ALLOWED_HOSTS: ['*'], SECRET_KEY: key }
    const refused = await runserver(production)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(
      "?: (channels.E005) Your SECRET_KEY is prefixed with 'channels-insecure-'",
    )
    expect((await runserver({ SECRET_KEY: key })).code).toBe(0)
    expect((await runserver({ ...production, SECRET_KEY })).code).toBe(0)
  })

  it("channels.E006 / W006: Django's session engine needs a DATABASES entry it can read", async () => {
    const django = { SESSION_ENGINE: 'django.contrib.sessions.backends.db' }
    const missing = await runserver(django)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(
      '?: (channels.E006) SESSION_ENGINE "django.contrib.sessions.backends.db" needs Django\'s ' +
        "database: DATABASES['default'] is not set.\n\tHINT: Copy DATABASES",
    )
    const mysql = await runserver({
      ...django,
      DATABASES: { default: { ENGINE: 'django.db.backends.mysql', NAME: 'site' } },
    })
    expect(mysql.code).toBe(1)
    expect(mysql.stderr).toContain(
      `DATABASES['default'].ENGINE is "django.db.backends.mysql"; 'django.db.backends.sqlite3'`,
    )
    const noFile = await runserver({
      ...django,
      DATABASES: { default: { ENGINE: 'django.db.backends.sqlite3', NAME: 'nowhere.sqlite3' } },
    })
    expect(noFile.code).toBe(0)
    expect(noFile.server.started).toBe(true)
    expect(noFile.stderr).toContain(
      "?: (channels.W006) Django's SQLite database nowhere.sqlite3 does not exist",
    )
    const postgres = await runserver({
      ...django,
      DATABASES: { default: { ENGINE: 'django.db.backends.postgresql', NAME: 'site' } },
    })
    expect(postgres.code).toBe(0)
    expect(postgres.stdout).toContain('System check identified no issues (0 silenced).')
  })

  it('a warning is printed on stderr and the server starts', async () => {
    const result = await runserver({ STATICFILES_DIRS: ['static', 'assets'] })
    expect(result.code).toBe(0)
    expect(result.server.started).toBe(true)
    expect(result.stderr).toContain(
      [
        'System check identified some issues:',
        '',
        'WARNINGS:',
        "?: (staticfiles.W004) The directory 'assets' in the STATICFILES_DIRS setting does not exist.",
        `\tHINT: Looked for ${join(fixture!.dir, 'assets')}.`,
        '',
        'System check identified 1 issue (0 silenced).',
      ].join('\n'),
    )
    expect(result.stdout).not.toContain('System check identified')
    expect(result.stdout).toMatch(/^Performing system checks\.\.\.\n\n\w+ \d\d, \d{4}/)
  })

  it('SILENCED_SYSTEM_CHECKS silences warnings and errors, and counts them', async () => {
    const warning = await runserver({
      STATICFILES_DIRS: ['assets'],
      SILENCED_SYSTEM_CHECKS: ['staticfiles.W004'],
    })
    expect(warning.code).toBe(0)
    expect(warning.stdout).toContain('\nSystem check identified no issues (1 silenced).\n')
    const error = await runserver({
      DEBUG: false,
      ALLOWED_HOSTS: ['*'],
      SILENCED_SYSTEM_CHECKS: ['channels.E004'],
    })
    expect(error.code).toBe(0)
    expect(error.stdout).toContain('System check identified no issues (1 silenced).')
  })

  it('--skip-checks skips them (and says nothing about checks); --nothreading is accepted', async () => {
    const production = { DEBUG: false, ALLOWED_HOSTS: ['*'] }
    const skipped = await runserver(production, '--skip-checks')
    expect(skipped.code).toBe(0)
    expect(skipped.server.started).toBe(true)
    expect(skipped.stdout).not.toContain('system check')
    expect(skipped.stdout).not.toContain('System check')
    const threading = await runserver({}, '--nothreading')
    expect(threading.code).toBe(0)
    expect(threading.stdout).toContain('System check identified no issues (0 silenced).')
  })
})

describe('serve', () => {
  it('runs the checks on the settings: an error exits 1 before serving', async () => {
    const result = await run(['serve', '-v', '0'], { DEBUG: false, ALLOWED_HOSTS: ['*'] })
    expect(result.code).toBe(1)
    expect(result.server.started).toBe(false)
    expect(result.stderr).toContain(
      'SystemCheckError: System check identified some issues:\n\nERRORS:\n?: (channels.E004)',
    )
    // serve serves no static files: STATICFILES_DIRS is not its business.
    const fine = await run(['serve', '-v', '0'], { STATICFILES_DIRS: ['assets'] })
    expect(fine.code).toBe(0)
    expect(fine.stderr).toBe('')
  })

  it('a positional application replaces ASGI_APPLICATION, which is then not checked', async () => {
    const result = await run(['serve', 'mysite/routing.ts:application', '-v', '0'], {
      ASGI_APPLICATION: 'mysite.nothing.application',
    })
    expect(result.code).toBe(0)
    expect(result.server.started).toBe(true)
  })

  it('--log-fmt formats the log lines; an unusable format is a usage error', async () => {
    const format = '%(levelname)s:%(name)s:%(message)s'
    const result = await run(['serve', '-p', '9123', '--log-fmt', format])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(
      'INFO:channels.cli:Starting server at tcp:port=9123:interface=127.0.0.1\n',
    )
    for (const bad of ['%(nope)s', '%(message)q', 'no fields', '100% %(message)s']) {
      const refused = await run(['serve', '--log-fmt', bad])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(/^argument --log-fmt: /)
      expect(refused.server.started).toBe(false)
    }
  })
})

describe('compileLogFormat', () => {
  const now = new Date(2026, 10, 26, 12, 31, 4, 105)
  const record = { level: 'warn', logger: 'channels.server', message: 'hello' } as const

  it("formats like Python's logging: widths, justification, precision, %%", () => {
    const format = compileLogFormat(
      '%(asctime)-15s %(levelname)-8s|%(levelno)03d|%(name)10.5s|%(msecs)d|%(message)s 100%%',
    )
    expect(format(record, now)).toBe(
      '2026-11-26 12:31:04,105 WARNING |030|     chann|105|hello 100%',
    )
    expect(compileLogFormat('%(created).3f')(record, now)).toBe((now.getTime() / 1000).toFixed(3))
    expect(compileLogFormat('%(process)d %(message)s')(record, now)).toBe(`${process.pid} hello`)
  })
})
