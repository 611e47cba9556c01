/**
 * Next to a real Django 3.2 site, on a real PostgreSQL and on SQLite: someone who logged in
 * through Django's login view is `scope.user` over a WebSocket to channels-ts; a password changed
 * in Django makes the next handshake anonymous; `logout()` in a consumer logs the browser out of
 * Django too. Then the startproject template, configured with DJANGO_DATABASE_URL and
 * DJANGO_SECRET_KEY, greets the Django user by name in the chat.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setLogHandler, type LogRecord } from '../../src/framework/asgi/logging.js'
import { AsyncWebsocketConsumer } from '../../src/framework/consumers/index.js'
import { databaseFromUrl } from '../../src/framework/middleware/django/index.js'
import { AuthMiddlewareStack, logout, type AuthScope } from '../../src/framework/middleware/auth.js'
import { closeSessionStores } from '../../src/framework/middleware/sessions/engine.js'
import {
  configureSettings,
  type DjangoDatabaseSettings,
} from '../../src/framework/settings/index.js'
import { startLiveServer, type LiveServer } from '../../src/testing/index.js'
import { startDjangoSite, type DjangoSite } from '../helpers/django-site.js'
import { startPostgres, type PostgresServer } from '../helpers/postgres.js'
import {
  connect,
  ensureBuilt,
  launchChromium,
  runBin,
  spawnBin,
  type Client,
  type Spawned,
} from './helpers.js'

const SECRET_KEY = 'django-insecure-e2e-shared-secret-0123456789abcdefghijklmnopqrstuvwxyz'

/** Answers the handshake with who scope.user is; `logout` logs out. */
class WhoAmI extends AsyncWebsocketConsumer<{ scope: AuthScope }> {
  override async connect(): Promise<void> {
    await this.accept()
    const { user } = this.scope
    await this.send({ textData: JSON.stringify({ username: user.username ?? '' }) })
  }

  override async receive(text?: string): Promise<void> {
    if (text !== 'logout') return
    await logout(this.scope)
    await this.send({ textData: JSON.stringify({ loggedOut: true }) })
  }
}

/** A WebSocket carrying the Django session cookie, as a browser on the same host sends it. */
function open(url: string, sessionid?: string): Promise<Client> {
  const { port, pathname } = new URL(url)
  const cookie: Record<string, string> =
    sessionid === undefined ? {} : { cookie: `sessionid=${sessionid}` }
  return connect(Number(port), pathname, undefined, cookie)
}

async function handshakeUser(url: string, sessionid?: string): Promise<unknown> {
  const socket = await open(url, sessionid)
  const hello = await socket.nextJson()
  await socket.close()
  return hello.username
}

interface Setup {
  name: string
  start(dir: string): Promise<{
    site: DjangoSite
    database: DjangoDatabaseSettings
    databaseUrl: string
    stop(): Promise<void>
  }>
}

const SETUPS: Setup[] = [
  {
    name: 'PostgreSQL',
    async start() {
      const postgres: PostgresServer = await startPostgres()
      const site = await startDjangoSite({
        database: { kind: 'postgres', server: postgres },
        secretKey: SECRET_KEY,
      })
      return {
        site,
        database: {
          ENGINE: 'django.db.backends.postgresql',
          NAME: postgres.database,
          USER: postgres.user,
          PASSWORD: postgres.password,
          HOST: postgres.host,
          PORT: postgres.port,
        },
        databaseUrl: postgres.url,
        async stop() {
          await site.stop()
          await postgres.stop()
        },
      }
    },
  },
  {
    name: 'SQLite',
    async start(dir) {
      const path = join(dir, 'db.sqlite3')
      const site = await startDjangoSite({
        database: { kind: 'sqlite', path },
        secretKey: SECRET_KEY,
      })
      return {
        site,
        database: { ENGINE: 'django.db.backends.sqlite3', NAME: path },
        databaseUrl: `sqlite:///${path}`,
        stop: () => site.stop(),
      }
    },
  },
]

describe.each(SETUPS)('next to a Django 3.2 site on $name', (setup) => {
  let dir: string
  // Unset in afterAll when beforeAll failed.
  let running: Awaited<ReturnType<Setup['start']>> | undefined
  let live: LiveServer | undefined
  let previousSettings: ReturnType<typeof configureSettings>
  let wsUrl: string

  const runningSetup = () => {
    if (running === undefined) throw new Error('the Django site did not start')
    return running
  }
  const site = () => runningSetup().site

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'channels-e2e-django-auth-'))
    running = await setup.start(dir)
    await site().createUser('alice', 'first-password', { firstName: 'Alice' })
    previousSettings = configureSettings({
      SECRET_KEY,
      SESSION_ENGINE: 'django.contrib.sessions.backends.db',
      DATABASES: { default: runningSetup().database },
    })
    live = await startLiveServer(AuthMiddlewareStack(WhoAmI.asAsgi()))
    wsUrl = `${live.wsUrl}/ws/`
  }, 120_000)

  afterAll(async () => {
    await live?.stop()
    closeSessionStores()
    configureSettings(previousSettings)
    await running?.stop()
    rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it("a browser logged in through Django's login view is scope.user", async () => {
    const sessionid = await site().login('alice', 'first-password')
    expect(await site().whoami(sessionid)).toMatchObject({ username: 'alice' })
    expect(await handshakeUser(wsUrl, sessionid)).toBe('alice')
    expect(await handshakeUser(wsUrl)).toBe('')
  })

  it('after a password change in Django, the next handshake is anonymous', async () => {
    const sessionid = await site().login('alice', 'first-password')
    expect(await handshakeUser(wsUrl, sessionid)).toBe('alice')
    await site().setPassword('alice', 'second-password')
    expect(await handshakeUser(wsUrl, sessionid)).toBe('')
    expect((await site().whoami(sessionid)).authenticated).toBe(false)
    // The new password logs in on both sides again.
    const fresh = await site().login('alice', 'second-password')
    expect(await handshakeUser(wsUrl, fresh)).toBe('alice')
    await site().setPassword('alice', 'first-password')
  })

  it("logout() in a consumer: Django's next request is anonymous", async () => {
    const sessionid = await site().login('alice', 'first-password')
    const socket = await open(wsUrl, sessionid)
    expect(await socket.nextJson()).toEqual({ username: 'alice' })
    socket.ws.send('logout')
    expect(await socket.nextJson()).toEqual({ loggedOut: true })
    await socket.close()
    expect(await site().whoami(sessionid)).toMatchObject({
      authenticated: false,
      username: '',
    })
    expect(await handshakeUser(wsUrl, sessionid)).toBe('')
  })

  it('the startproject chat greets the Django user by name', async () => {
    ensureBuilt()
    const created = runBin(['startproject', 'mysite'], dir)
    if (created.status !== 0) throw new Error(`startproject failed: ${created.stderr}`)
    const server: Spawned = spawnBin(
      ['runserver', '127.0.0.1:0', '--noreload'],
      join(dir, 'mysite'),
      {
        DJANGO_DATABASE_URL: runningSetup().databaseUrl,
        DJANGO_SECRET_KEY: SECRET_KEY,
      },
    )
    try {
      const match = await server.waitForOutput(
        /development server at http:\/\/127\.0\.0\.1:(\d+)\//,
      )
      const chat = `ws://127.0.0.1:${String(match[1])}/ws/chat/lobby/`
      const sessionid = await site().login('alice', 'first-password')
      const socket = await open(chat, sessionid)
      expect(await socket.nextJson()).toEqual({ user: 'alice' })
      socket.ws.send(JSON.stringify({ message: 'hello from Django' }))
      expect(await socket.nextJson()).toEqual({ message: 'hello from Django', user: 'alice' })
      await socket.close()
      const anonymous = await open(chat)
      expect(await anonymous.nextJson()).toEqual({ user: null })
      await anonymous.close()

      // In a browser: log in on the Django site, then open the chat on channels-ts (same host,
      // another port: the browser sends Django's cookie along).
      const browser = await launchChromium()
      try {
        const context = await browser.newContext({ viewport: { width: 900, height: 560 } })
        const login = await context.request.post(`${site().url}/login/`, {
          form: { username: 'alice', password: 'first-password' },
        })
        expect(login.status()).toBe(200)
        const page = await context.newPage()
        await page.goto(`http://127.0.0.1:${String(match[1])}/chat/lobby/`)
        await page.waitForSelector('body[data-connected="true"]')
        await expect.poll(() => page.textContent('#user-name'), { timeout: 10_000 }).toBe('alice')
        await page.fill('#chat-message-input', 'Hello from the Django side')
        await page.press('#chat-message-input', 'Enter')
        await expect
          .poll(() => page.inputValue('#chat-log'), { timeout: 10_000 })
          .toContain('alice: Hello from the Django side')
        const shots = process.env.CHANNELS_SCREENSHOT_DIR
        if (shots !== undefined && setup.name === 'PostgreSQL') {
          await page.screenshot({ path: join(shots, 'django-chat.png') })
        }
      } finally {
        await browser.close()
      }
    } finally {
      expect(await server.stop('SIGINT')).toBe(0)
      rmSync(join(dir, 'mysite'), { recursive: true, force: true })
    }
  }, 60_000)
})

describe('PostgreSQL going away under a live server', () => {
  it('handshakes are anonymous with an error logged while it is down, and authenticated again once it is back', async () => {
    const postgres = await startPostgres()
    const site = await startDjangoSite({
      database: { kind: 'postgres', server: postgres },
      secretKey: SECRET_KEY,
    })
    const records: LogRecord[] = []
    const previousHandler = setLogHandler((record) => records.push(record))
    const previousSettings = configureSettings({
      SECRET_KEY,
      SESSION_ENGINE: 'django.contrib.sessions.backends.db',
      DATABASES: { default: databaseFromUrl(postgres.url) },
    })
    const live = await startLiveServer(AuthMiddlewareStack(WhoAmI.asAsgi()))
    const url = `${live.wsUrl}/ws/`
    try {
      await site.createUser('alice', 'first-password')
      const sessionid = await site.login('alice', 'first-password')
      // A connection opened before the outage, and the pool's connections, exist when it dies.
      const before = await open(url, sessionid)
      expect(await before.nextJson()).toEqual({ username: 'alice' })

      await postgres.stop('SIGKILL')
      expect(await handshakeUser(url, sessionid)).toBe('')
      expect(records.filter((r) => r.level === 'error').map((r) => r.message)).toEqual([
        expect.stringMatching(/Cannot read the session from Django's database: PostgreSQL/),
      ])
      // The connection opened before is unaffected.
      before.ws.send('ping')
      await postgres.restart()
      expect(await handshakeUser(url, sessionid)).toBe('alice')
      await before.close()
    } finally {
      await live.stop()
      closeSessionStores()
      configureSettings(previousSettings)
      setLogHandler(previousHandler)
      await site.stop()
      await postgres.stop()
    }
  }, 60_000)
})
