/**
 * `channels runserver` against a fake server: addrport grammar (Django's runserver tests), the
 * banner, flags → server options, settings errors, static files, listen failures.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { runCli } from './fake-server.js'
import { callHttp } from './http-call.js'
import { createFixture, type Fixture } from './project-fixture.js'

let fixture: Fixture | undefined
afterEach(() => {
  fixture?.cleanup()
  fixture = undefined
})

/** A production-grade key: with DEBUG off the system checks refuse an empty one. */
const SECRET_KEY = 'k'.repeat(20) + 'x7#q'.repeat(10)

async function runserver(
  args: string[],
  settings: Record<string, unknown> = {},
  env: Record<string, string> = {},
) {
  fixture = createFixture(settings)
  return runCli(['runserver', '--noreload', ...args], { cwd: fixture.dir, env })
}

describe('addrport', () => {
  const table: [args: string[], endpoint: string, url: string][] = [
    [[], 'tcp:port=8000:interface=127.0.0.1', 'http://127.0.0.1:8000/'],
    [['7000'], 'tcp:port=7000:interface=127.0.0.1', 'http://127.0.0.1:7000/'],
    [['0.0.0.0:9000'], 'tcp:port=9000:interface=0.0.0.0', 'http://0.0.0.0:9000/'],
    [['[::1]:8000'], String.raw`tcp:port=8000:interface=\:\:1`, 'http://[::1]:8000/'],
    [['localhost:8001'], 'tcp:port=8001:interface=localhost', 'http://localhost:8001/'],
    [['-6'], String.raw`tcp:port=8000:interface=\:\:1`, 'http://[::1]:8000/'],
    [['-6', '9000'], String.raw`tcp:port=9000:interface=\:\:1`, 'http://[::1]:9000/'],
    [['-6', 'localhost:8000'], 'tcp:port=8000:interface=localhost', 'http://localhost:8000/'],
    // Daphne does not apply Django's 0 → 0.0.0.0 display mapping.
    [['0:8000'], 'tcp:port=8000:interface=0', 'http://0:8000/'],
    // Port 0: the banner shows the port really bound.
    [['127.0.0.1:0'], 'tcp:port=0:interface=127.0.0.1', 'http://127.0.0.1:45678/'],
  ]
  it.each(table)('%j → %s', async (args, endpoint, url) => {
    const result = await runserver(args)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.server.endpointStrings()).toEqual([endpoint])
    expect(result.stdout).toContain(`development server at ${url}\n`)
  })

  it.each([['foo bar'], ['8000a'], ['1.2.3.4:'], ['[::1]'], [':8000']])(
    'refuses %j',
    async (bad) => {
      const result = await runserver([bad])
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(`"${bad}" is not a valid port number or address:port pair.`)
      expect(result.server.started).toBe(false)
    },
  )

  it('refuses an IPv4 address with -6', async () => {
    const result = await runserver(['-6', '127.0.0.1:8000'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('"127.0.0.1" is not a valid IPv6 address.')
  })
})

describe('banner', () => {
  it("prints Daphne's runserver transcript with our names", async () => {
    const { stdout, code } = await runserver([])
    expect(code).toBe(0)
    const version = (await import('../../src/cli/package-info.js')).frameworkVersion()
    expect(stdout).toBe(
      [
        'Performing system checks...',
        '',
        'System check identified no issues (0 silenced).',
        'November 26, 2026 - 06:33:49',
        `channels-ts version ${version}, using settings 'settings.ts'`,
        `Starting ASGI/channels-ts version ${version} development server at http://127.0.0.1:8000/`,
        'Quit the server with CONTROL-C.',
        'Reactor: fake engine',
        '',
      ].join('\n'),
    )
  })
})

describe('options', () => {
  it('passes timeouts in milliseconds, the reactor, FORCE_SCRIPT_NAME, and no signal handlers', async () => {
    const defaults = await runserver([])
    expect(defaults.server.options).toMatchObject({
      httpTimeout: null,
      websocketHandshakeTimeout: 5000,
      reactor: 'auto',
      rootPath: '',
      signalHandlers: false,
    })
    fixture?.cleanup()
    const tuned = await runserver(
      ['--http_timeout', '7', '--websocket_handshake_timeout', '2', '--reactor', 'node'],
      { FORCE_SCRIPT_NAME: '/mount' },
    )
    expect(tuned.server.options).toMatchObject({
      httpTimeout: 7000,
      websocketHandshakeTimeout: 2000,
      reactor: 'node',
      rootPath: '/mount',
    })
  })

  it('prints one line per access event on stderr (runserver format)', async () => {
    const result = await runserver([])
    const onAction = result.server.options?.onAction
    expect(onAction).toBeTypeOf('function')
    const time = new Date()
    onAction?.({
      protocol: 'http',
      action: 'complete',
      method: 'GET',
      path: '/nf',
      status: 404,
      client: '127.0.0.1:49698',
      durationMs: 1,
      time,
    })
    onAction?.({
      protocol: 'websocket',
      action: 'connecting',
      path: '/ws/x/',
      client: '127.0.0.1:49726',
      time,
    })
    expect(result.stderr).toBe(
      'HTTP GET /nf 404 [0.00, 127.0.0.1:49698]\nWebSocket HANDSHAKING /ws/x/ [127.0.0.1:49726]\n',
    )
  })
})

describe('settings', () => {
  it('uses --settings, then CHANNELS_SETTINGS_MODULE, then ./settings.ts', async () => {
    fixture = createFixture(
      {},
      {
        'conf/prod.ts':
          "export default { DEBUG: true, ASGI_APPLICATION: 'mysite.routing.application' }\n",
      },
    )
    const viaFlag = await runCli(['runserver', '--noreload', '--settings', 'conf/prod.ts'], {
      cwd: fixture.dir,
    })
    expect(viaFlag.code).toBe(0)
    expect(viaFlag.stdout).toContain("using settings 'conf/prod.ts'")
    const viaEnv = await runCli(['runserver', '--noreload'], {
      cwd: fixture.dir,
      env: { CHANNELS_SETTINGS_MODULE: 'conf.prod' },
    })
    expect(viaEnv.code).toBe(0)
    expect(viaEnv.stdout).toContain("using settings 'conf/prod.ts'")
    const missing = await runCli(['runserver', '--noreload', '--settings', 'conf/none.ts'], {
      cwd: fixture.dir,
    })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(
      "Cannot find the settings module 'conf/none.ts' (from --settings).",
    )
  })

  it('needs a settings module', async () => {
    fixture = createFixture()
    const result = await runCli(['runserver', '--noreload'], { cwd: `${fixture.dir}/static` })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /^No settings found: pass --settings PATH, set CHANNELS_SETTINGS_MODULE/,
    )
  })

  it("Django's ASGI_APPLICATION messages", async () => {
    const unset = await runserver([], { ASGI_APPLICATION: undefined })
    expect(unset.code).toBe(1)
    expect(unset.stderr).toContain(
      'You have not set ASGI_APPLICATION, which is needed to run the server.',
    )
    fixture?.cleanup()
    const noModule = await runserver([], { ASGI_APPLICATION: 'mysite.nothing.application' })
    expect(noModule.code).toBe(1)
    expect(noModule.stderr).toContain("Cannot import ASGI_APPLICATION module 'mysite.nothing'")
    fixture?.cleanup()
    const noExport = await runserver([], { ASGI_APPLICATION: 'mysite.routing.app' })
    expect(noExport.code).toBe(1)
    expect(noExport.stderr).toContain("Cannot find 'app' in ASGI_APPLICATION module mysite.routing")
    fixture?.cleanup()
    const colonForm = await runserver([], { ASGI_APPLICATION: 'mysite/routing.ts:application' })
    expect(colonForm.code).toBe(0)
  })

  it('a settings module that throws is reported, with no server started', async () => {
    fixture = createFixture()
    fixture.write('settings.ts', "throw new Error('settings exploded')\n")
    const result = await runCli(['runserver', '--noreload'], { cwd: fixture.dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('settings exploded')
    expect(result.server.started).toBe(false)
  })

  it("a syntax error is reported with esbuild's code frame", async () => {
    fixture = createFixture()
    fixture.write('mysite/routing.ts', 'export const application = (\n')
    const result = await runCli(['runserver', '--noreload'], { cwd: fixture.dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/mysite\/routing\.ts:\d+:\d+/)
  })

  it('DEBUG false with empty ALLOWED_HOSTS is a CommandError', async () => {
    const result = await runserver([], { DEBUG: false, SECRET_KEY })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      'CommandError: You must set settings.ALLOWED_HOSTS if DEBUG is False.',
    )
    fixture?.cleanup()
    const ok = await runserver([], { DEBUG: false, ALLOWED_HOSTS: ['example.com'], SECRET_KEY })
    expect(ok.code).toBe(0)
  })
})

describe('static files', () => {
  it('are served at STATIC_URL in DEBUG; other paths reach the app', async () => {
    const { server } = await runserver([])
    const file = await callHttp(server.app!, '/static/hello.txt')
    expect(file.status).toBe(200)
    expect(file.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(file.body.toString()).toBe('hello static\n')
    const app = await callHttp(server.app!, '/other/')
    expect(app.body.toString()).toBe('app:/other/')
  })

  it('are not served with --nostatic, nor without DEBUG unless --insecure', async () => {
    const nostatic = await runserver(['--nostatic'])
    expect((await callHttp(nostatic.server.app!, '/static/hello.txt')).body.toString()).toBe(
      'app:/static/hello.txt',
    )
    fixture?.cleanup()
    const production = await runserver([], { DEBUG: false, ALLOWED_HOSTS: ['*'], SECRET_KEY })
    expect((await callHttp(production.server.app!, '/static/hello.txt')).body.toString()).toBe(
      'app:/static/hello.txt',
    )
    fixture?.cleanup()
    const insecure = await runserver(['--insecure'], {
      DEBUG: false,
      ALLOWED_HOSTS: ['*'],
      SECRET_KEY,
    })
    expect((await callHttp(insecure.server.app!, '/static/hello.txt')).status).toBe(200)
    expect((await callHttp(insecure.server.app!, '/static/hello.txt')).body.toString()).toBe(
      'hello static\n',
    )
  })
})

describe('listen failures', () => {
  it("a busy port prints Django's message and exits 1 (Daphne exits 0)", async () => {
    fixture = createFixture()
    const cause = Object.assign(
      new Error('listen EADDRINUSE: address already in use 127.0.0.1:8000'),
      { code: 'EADDRINUSE' },
    )
    const error = new Error(
      'Listen failure: listen EADDRINUSE: address already in use 127.0.0.1:8000',
      { cause },
    )
    const result = await runCli(['runserver', '--noreload'], {
      cwd: fixture.dir,
      startError: error,
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      'Error: That port is already in use.\nListen failure: listen EADDRINUSE: address already in use 127.0.0.1:8000\n',
    )
  })
})
