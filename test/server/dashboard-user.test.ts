/**
 * The dashboard's user column behind AuthMiddlewareStack, over real sockets: the middleware
 * resolves the user on its own copy of the scope, and notes it in the connection-notes extension
 * the server adds once the dashboard was first looked at; a logout in the consumer is noted too.
 * Until somebody looks, scopes get no extension.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AsyncWebsocketConsumer } from '../../src/framework/consumers/index.js'
import type { AuthBackend } from '../../src/framework/middleware/auth-user.js'
import { AuthMiddlewareStack, logout, type AuthScope } from '../../src/framework/middleware/auth.js'
import {
  closeSessionStores,
  getSessionStore,
} from '../../src/framework/middleware/sessions/engine.js'
import { configureSettings } from '../../src/framework/settings/index.js'
import { createInspector } from '../../src/server/index.js'
import { REACTORS, useServers } from '../helpers/with-server.js'
import { openClient } from '../helpers/ws-client.js'

const SESSION = 'sessionkeyofalice000000000000000'

const backend: AuthBackend = {
  name: 'users',
  getUser: (id) => (id === '1' ? { id: 1, username: 'alice' } : null),
}

/** Says whether the app saw the extension; `logout` logs out. */
class Consumer extends AsyncWebsocketConsumer<{ scope: AuthScope }> {
  override async connect(): Promise<void> {
    await this.accept()
    await this.send({ textData: 'extensions' in this.scope ? 'with notes' : 'plain' })
  }

  override async receive(text?: string): Promise<void> {
    if (text !== 'logout') return
    await logout(this.scope)
    await this.send({ textData: 'logged out' })
  }
}

let previous: ReturnType<typeof configureSettings>
beforeEach(async () => {
  previous = configureSettings({
    SECRET_KEY: 'k',
    SESSION_ENGINE: 'memory',
    AUTHENTICATION_BACKENDS: [backend],
  })
  await getSessionStore()?.save(
    SESSION,
    { _auth_user_id: '1', _auth_user_backend: 'users' },
    new Date(Date.now() + 60_000),
    true,
  )
})
afterEach(() => {
  closeSessionStores()
  configureSettings(previous)
})

describe.each(REACTORS)('the user column on the %s reactor', (reactor) => {
  const start = useServers()

  it("shows the session's user, anonymous without one, and a logout", async () => {
    const { server, wsUrl } = await start(AuthMiddlewareStack(Consumer.asAsgi()), { reactor })
    const inspector = createInspector(server, { sampleIntervalMs: 50 })
    try {
      const before = await openClient(`${wsUrl}/ws/before/`)
      expect(await before.next()).toBe('plain')
      // The first look turns the notes on, for connections from then on.
      expect(inspector.snapshot().connections.table.map((r) => r.user)).toEqual([null])
      const alice = await openClient(`${wsUrl}/ws/alice/`, undefined, {
        headers: { cookie: `sessionid=${SESSION}` },
      })
      expect(await alice.next()).toBe('with notes')
      const nobody = await openClient(`${wsUrl}/ws/nobody/`)
      expect(await nobody.next()).toBe('with notes')
      const users = () =>
        Object.fromEntries(inspector.snapshot().connections.table.map((r) => [r.path, r.user]))
      expect(users()).toEqual({
        '/ws/before/': null,
        '/ws/alice/': 'alice',
        '/ws/nobody/': 'anonymous',
      })
      alice.send('logout')
      expect(await alice.next()).toBe('logged out')
      await vi.waitFor(() => expect(users()['/ws/alice/']).toBe('anonymous'))
      alice.close()
      nobody.close()
      before.close()
    } finally {
      inspector.close()
    }
  })

  it('adds nothing to the scopes while nobody has looked', async () => {
    const { server, wsUrl } = await start(AuthMiddlewareStack(Consumer.asAsgi()), { reactor })
    // A dashboard mounted but never opened: no snapshot asked for yet.
    const inspector = createInspector(server, { sampleIntervalMs: 50 })
    try {
      const client = await openClient(`${wsUrl}/ws/`, undefined, {
        headers: { cookie: `sessionid=${SESSION}` },
      })
      expect(await client.next()).toBe('plain')
      expect(server.inspect().connections.map((c) => c.notes)).toEqual([null])
      client.close()
    } finally {
      inspector.close()
    }
  })
})
