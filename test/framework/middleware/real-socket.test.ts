/**
 * Cookies, sessions, auth and origin validation over real sockets: an HTTP login sets the
 * session cookie; a `ws` client presenting it is that user in its consumer.
 */
import { request } from 'node:http'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import {
  setLogHandler,
  type LogHandler,
  type LogRecord,
} from '../../../src/framework/asgi/logging.js'
import type { Receive, Scope, Send } from '../../../src/framework/asgi/types.js'
import { AsyncWebsocketConsumer } from '../../../src/framework/consumers/index.js'
import type { AuthBackend, AuthUser } from '../../../src/framework/middleware/auth-user.js'
import { AuthMiddlewareStack, login } from '../../../src/framework/middleware/auth.js'
import { AllowedHostsOriginValidator } from '../../../src/framework/middleware/origin.js'
import type { SessionEngine } from '../../../src/framework/middleware/sessions/engine.js'
import type { Session } from '../../../src/framework/middleware/sessions/session.js'
import { SqliteSessionStore } from '../../../src/framework/middleware/sessions/sqlite-store.js'
import { ProtocolTypeRouter } from '../../../src/framework/routing/index.js'
import { createServer, type Server } from '../../../src/server/index.js'
import { cookieFrom, tempDir, useSettings } from './helpers.js'

const alice: AuthUser = { id: 7, username: 'alice' }
const backend: AuthBackend = { name: 'test', getUser: (id) => (id === '7' ? alice : null) }

/** POST /login logs alice in and stores a value; anything else answers with the session's value. */
async function httpApp(scope: Scope, receive: Receive, send: Send): Promise<void> {
  await receive()
  const session = scope.session as Session
  if (scope.path === '/login') {
    await login(scope, alice)
    session.set('room', 'lobby')
  }
  await send({
    type: 'http.response.start',
    status: 200,
    headers: [[Buffer.from('content-type'), Buffer.from('text/plain')]],
  })
  await send({
    type: 'http.response.body',
    body: Buffer.from((scope.user as AuthUser).username || 'anonymous'),
  })
}

class WhoAmI extends AsyncWebsocketConsumer {
  override async connect(): Promise<void> {
    await this.accept()
    const user = this.scope.user as AuthUser & { isAuthenticated?: boolean }
    const session = this.scope.session as Session
    const name = user.isAuthenticated === false ? 'anonymous' : user.username
    await this.send({ textData: `${name} ${String(session.get('room', '-'))}` })
  }
}

function application(engine?: SessionEngine) {
  const options = engine === undefined ? {} : { engine }
  return new ProtocolTypeRouter({
    http: AuthMiddlewareStack(httpApp, options),
    websocket: AllowedHostsOriginValidator(AuthMiddlewareStack(WhoAmI.asAsgi(), options)),
  })
}

interface Reply {
  status: number
  setCookie: string | null
  body: string
}

/**
 * One HTTP request on a fresh connection (`agent: false`): a pooled keep-alive socket would
 * outlive the test and hold the server's graceful stop open.
 */
function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const cookies = res.headers['set-cookie']
          resolve({
            status: res.statusCode!,
            setCookie: cookies?.[0] ?? null,
            body: Buffer.concat(chunks).toString(),
          })
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** Connects and resolves with the first message, or `status <code>` when the handshake fails. */
function firstMessage(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.once('message', (data) => {
      // ws's default binaryType ('nodebuffer') hands over a Buffer.
      resolve((data as Buffer).toString())
      ws.close()
    })
    ws.once('unexpected-response', (_req, res) => {
      resolve(`status ${res.statusCode}`)
      res.resume()
      ws.terminate()
    })
    ws.once('error', reject)
  })
}

describe.each(['node', 'auto'] as const)('over a real socket (reactor %s)', (reactor) => {
  let restore: () => void
  let cleanup: () => void
  let dbPath: string
  let records: LogRecord[]
  let previousHandler: LogHandler
  const servers: Server[] = []

  async function serve(engine?: SessionEngine): Promise<number> {
    const server = createServer(application(engine), ['tcp:port=0:interface=127.0.0.1'], {
      reactor,
      signalHandlers: false,
    })
    servers.push(server)
    const { listeners } = await server.start()
    return (listeners[0]!.address as { port: number }).port
  }

  beforeEach(() => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    dbPath = join(tmp.dir, 'sessions.sqlite3')
    restore = useSettings({
      SESSION_ENGINE: 'db',
      SESSION_DB_PATH: dbPath,
      AUTHENTICATION_BACKENDS: [backend],
      ALLOWED_HOSTS: ['127.0.0.1', 'localhost'],
    })
    records = []
    previousHandler = setLogHandler((record) => {
      if (record.logger === 'channels.security') records.push(record)
    })
  })

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop()
    setLogHandler(previousHandler)
    restore()
    cleanup()
  })

  it('an HTTP login sets the cookie; the WebSocket sees scope.session and scope.user', async () => {
    const port = await serve()
    const response = await httpRequest(`http://127.0.0.1:${port}/login`, { method: 'POST' })
    expect(response.body).toBe('alice')
    const setCookie = response.setCookie!
    expect(setCookie).toMatch(
      /^sessionid=[a-z0-9]{32}; expires=.*; HttpOnly; Max-Age=1209600; Path=\/; SameSite=Lax$/,
    )
    const cookie = cookieFrom([[Buffer.from('set-cookie'), Buffer.from(setCookie)]], 'sessionid')!

    const origin = `http://127.0.0.1:${port}`
    expect(
      await firstMessage(`ws://127.0.0.1:${port}/ws/`, { cookie: `sessionid=${cookie}`, origin }),
    ).toBe('alice lobby')
    // The session is also there for plain HTTP.
    const again = await httpRequest(`${origin}/whoami`, {
      headers: { cookie: `sessionid=${cookie}` },
    })
    expect(again.body).toBe('alice')
    expect(again.setCookie).toBeNull()

    // A tampered cookie: AnonymousUser, empty session.
    const tampered = cookie.slice(0, -1) + (cookie.endsWith('a') ? 'b' : 'a')
    expect(
      await firstMessage(`ws://127.0.0.1:${port}/ws/`, { cookie: `sessionid=${tampered}`, origin }),
    ).toBe('anonymous -')
    expect(records).toEqual([])
  })

  it('a foreign Origin is rejected with 403 and the reason is logged', async () => {
    const port = await serve()
    const result = await firstMessage(`ws://127.0.0.1:${port}/ws/chat/lobby/`, {
      origin: 'http://evil.com',
    })
    expect(result).toBe('status 403')
    expect(records.map((r) => [r.level, r.message])).toEqual([
      [
        'warn',
        "WebSocket origin rejected: 'http://evil.com' is not in ALLOWED_HOSTS ['127.0.0.1', 'localhost'] (path /ws/chat/lobby/)",
      ],
    ])
  })

  it('SQLite sessions survive a server restart', async () => {
    const firstStore = new SqliteSessionStore({ path: dbPath })
    let port = await serve(firstStore)
    const response = await httpRequest(`http://127.0.0.1:${port}/login`, { method: 'POST' })
    const cookie = cookieFrom(
      [[Buffer.from('set-cookie'), Buffer.from(response.setCookie!)]],
      'sessionid',
    )!
    await servers.pop()!.stop()
    firstStore.close()

    const secondStore = new SqliteSessionStore({ path: dbPath })
    try {
      port = await serve(secondStore)
      const origin = `http://localhost:${port}`
      expect(
        await firstMessage(`ws://127.0.0.1:${port}/ws/`, { cookie: `sessionid=${cookie}`, origin }),
      ).toBe('alice lobby')
    } finally {
      await servers.pop()?.stop()
      secondStore.close()
    }
  })
})
