/**
 * The dashboard over real sockets: the server's inspection (connections, counters, closing one),
 * the mount ahead of the project's application (a project route at /_channels/ cannot shadow
 * it), the token guard (403 and no dashboard bytes without it; query → cookie; Bearer), the
 * Origin and Host checks, and the page's WebSocket: its feed, its commands, and bad input
 * answered with an error that changes nothing.
 */
import { describe, expect, it, vi } from 'vitest'
import type { Application, Receive, Scope, Send } from '../../src/framework/asgi/types.js'
import { InMemoryChannelLayer } from '../../src/framework/layers/in-memory.js'
import {
  createInspector,
  DASHBOARD_CLOSE_CODE,
  DASHBOARD_CLOSE_REASON,
  mountDashboard,
  type DashboardAccess,
  type Inspector,
} from '../../src/server/index.js'
import { REACTORS, useLogRecords, useServers, type RunningServer } from '../helpers/with-server.js'
import { echoWebSocketApp } from '../helpers/asgi-apps.js'
import { openClient, rawHttp, type TestClient } from '../helpers/ws-client.js'

const TOKEN = 's3cret-token'

/** The project's application: answers every HTTP path (/_channels/ too) and echoes WebSockets. */
function projectApp(): Application {
  const echo = echoWebSocketApp()
  return async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type === 'websocket') return echo(scope, receive, send)
    if (scope.type !== 'http') return
    await receive()
    await send({ type: 'http.response.start', status: 200, headers: [] })
    await send({ type: 'http.response.body', body: Buffer.from(`project ${scope.path}`) })
  }
}

/** Messages of a dashboard socket, parsed, until one of `type` arrives. */
async function nextOfType(client: TestClient, type: string): Promise<Record<string, unknown>> {
  for (;;) {
    const message = JSON.parse(String(await client.next())) as Record<string, unknown>
    if (message.type === type) return message
  }
}

describe.each(REACTORS)('dashboard on the %s reactor', (reactor) => {
  const start = useServers()
  const logs = useLogRecords()

  async function started(
    access: DashboardAccess,
    layer?: InMemoryChannelLayer,
  ): Promise<RunningServer & { inspector: Inspector }> {
    const running = await start(projectApp(), { reactor })
    const inspector = mountDashboard(running.server, {
      access,
      layers: () => (layer ? [['default', layer] as const] : []),
      sampleIntervalMs: 50,
    })
    running.server.closed.then(
      () => inspector.close(),
      () => undefined,
    )
    return { ...running, inspector }
  }

  it('counts connections and messages, and closes one from the server', async () => {
    const { server, wsUrl } = await started({ token: null })
    const client = await openClient(`${wsUrl}/ws/echo/`)
    client.send('one')
    expect(await client.next()).toBe('one')
    const inspection = server.inspect()
    const row = inspection.connections.find((c) => c.protocol === 'websocket')
    expect(row).toMatchObject({
      path: '/ws/echo/',
      state: 'open',
      messagesIn: 1,
      messagesOut: 1,
      bufferedBytes: 0,
    })
    expect(row?.client).toMatch(/^127\.0\.0\.1/)
    // Not kept unless asked for (retainScopes): middleware copies it, the original is garbage.
    expect(row?.scope).toBeNull()
    expect(inspection.opened.websocket).toBe(1)
    expect(server.closeConnection(row!.id, DASHBOARD_CLOSE_CODE, DASHBOARD_CLOSE_REASON)).toBe(true)
    expect(await client.closed).toEqual({ code: 1000, reason: DASHBOARD_CLOSE_REASON })
    await vi.waitFor(() => expect(server.inspect().closed.websocket).toBe(1))
    expect(server.inspect({ connections: false })).toMatchObject({
      connections: [],
      messagesIn: 1,
      messagesOut: 1,
    })
    expect(server.closeConnection(row!.id)).toBe(false)
    expect(server.closeConnection(987654)).toBe(false)
  })

  it("keeps each new connection's scope once asked to (for the describe hook)", async () => {
    const { server, wsUrl } = await started({ token: null })
    const before = await openClient(`${wsUrl}/ws/before/`)
    server.retainScopes()
    const after = await openClient(`${wsUrl}/ws/after/`)
    const scopes = Object.fromEntries(server.inspect().connections.map((c) => [c.path, c.scope]))
    expect(scopes['/ws/before/']).toBeNull()
    expect(scopes['/ws/after/']).toMatchObject({ type: 'websocket', path: '/ws/after/' })
    before.close()
    after.close()
  })

  it('serves /_channels/ ahead of a project that answers every path', async () => {
    const { url } = await started({ token: null })
    const page = await fetch(`${url}/_channels/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('channels-ts dashboard')
    const bare = await fetch(`${url}/_channels`, { redirect: 'manual' })
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/_channels/'])
    expect(await (await fetch(`${url}/_channels/nothing`)).text()).toBe('Not Found\n')
    // Only the prefix as a path segment: the project keeps everything else.
    expect(await (await fetch(`${url}/_channelsx`)).text()).toBe('project /_channelsx')
    expect(await (await fetch(`${url}/chat/`)).text()).toBe('project /chat/')
    const snapshot = (await (await fetch(`${url}/_channels/api/snapshot`)).json()) as {
      connections: { open: number }
    }
    // This request is the dashboard's own: not counted.
    expect(snapshot.connections.open).toBe(0)
  })

  it('without the token: 403 and nothing of the dashboard, on every path and the socket', async () => {
    const { url, wsUrl } = await started({ token: TOKEN })
    for (const path of ['/_channels/', '/_channels/api/snapshot', '/_channels', '/_channels/x']) {
      const response = await fetch(`${url}${path}`, { redirect: 'manual' })
      expect(response.status).toBe(403)
      expect(await response.text()).toBe('Forbidden\n')
    }
    const wrong = await fetch(`${url}/_channels/?token=nope`, {
      headers: { cookie: 'channels_dashboard=nope', authorization: 'Bearer nope' },
    })
    expect(wrong.status).toBe(403)
    await expect(openClient(`${wsUrl}/_channels/ws`)).rejects.toThrow('403')
    expect(
      logs.some((r) => r.logger === 'channels.dashboard' && /no valid token/.test(r.message)),
    ).toBe(true)
    // The project's own paths are not guarded.
    expect((await fetch(`${url}/chat/`)).status).toBe(200)
  })

  it('with the token: ?token= sets a cookie and redirects; the cookie and Bearer let in', async () => {
    const { url, wsUrl } = await started({ token: TOKEN })
    const first = await fetch(`${url}/_channels/?token=${TOKEN}`, { redirect: 'manual' })
    expect(first.status).toBe(303)
    expect(first.headers.get('location')).toBe('/_channels/')
    const cookie = first.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(
      /^channels_dashboard=s3cret-token; Path=\/_channels; HttpOnly; SameSite=Strict$/,
    )
    const pair = cookie.split(';')[0]!
    const page = await fetch(`${url}/_channels/`, { headers: { cookie: `a=b; ${pair}` } })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
    const api = await fetch(`${url}/_channels/api/snapshot`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(api.status).toBe(200)
    const client = await openClient(`${wsUrl}/_channels/ws`, undefined, {
      headers: { cookie: pair },
    })
    expect((await nextOfType(client, 'hello')).snapshot).toBeDefined()
    client.close()
  })

  it('refuses a socket from another origin and a host not allowed', async () => {
    const { url, wsUrl, port } = await started({
      token: null,
      allowHost: (host) => host === `127.0.0.1:${port}`,
    })
    await expect(
      openClient(`${wsUrl}/_channels/ws`, undefined, { origin: 'http://evil.example' }),
    ).rejects.toThrow('403')
    const same = await openClient(`${wsUrl}/_channels/ws`, undefined, {
      origin: `http://127.0.0.1:${port}`,
    })
    same.close()
    // rawHttp says `Host: 127.0.0.1`, without the port the predicate wants.
    const rebound = (await rawHttp(port, 'GET', '/_channels/')).toString('latin1')
    expect(rebound).toMatch(/^HTTP\/1\.1 403 /)
    expect(rebound).not.toContain('dashboard')
    expect((await fetch(`${url}/_channels/`)).status).toBe(200)
    await expect(openClient(`${wsUrl}/_channels/elsewhere`)).rejects.toThrow('403')
  })

  it('feeds the page: hello, snapshots, samples and events, groups and their members', async () => {
    const layer = new InMemoryChannelLayer()
    await layer.groupAdd('chat_lobby', 'a')
    await layer.groupAdd('chat_lobby', 'b')
    const { wsUrl, inspector } = await started({ token: null }, layer)
    const page = await openClient(`${wsUrl}/_channels/ws`)
    const hello = await nextOfType(page, 'hello')
    expect(hello).toMatchObject({
      snapshot: {
        connections: { byProtocol: { websocket: 0 } },
        layers: [{ alias: 'default', groups: [{ name: 'chat_lobby', members: 2 }] }],
        reload: null,
        process: { pid: process.pid },
      },
    })
    await layer.groupSend('chat_lobby', { type: 'x' })
    await nextOfType(page, 'sample')
    expect((await nextOfType(page, 'snapshot')).snapshot).toMatchObject({
      layers: [{ groups: [{ name: 'chat_lobby', sends: 1 }] }],
    })
    inspector.record({ level: 'warn', source: 'test', message: 'something', detail: null })
    expect(await nextOfType(page, 'events')).toMatchObject({
      events: [{ level: 'warn', source: 'test', message: 'something' }],
    })
    page.send(JSON.stringify({ cmd: 'members', alias: 'default', group: 'chat_lobby' }))
    expect(await nextOfType(page, 'members')).toEqual({
      type: 'members',
      alias: 'default',
      group: 'chat_lobby',
      members: ['a', 'b'],
    })
    page.close()
  })

  it('closes a connection on command, and answers bad input with an error and nothing else', async () => {
    const { server, wsUrl } = await started({ token: null })
    const chat = await openClient(`${wsUrl}/ws/chat/`)
    const page = await openClient(`${wsUrl}/_channels/ws`)
    await nextOfType(page, 'hello')
    const bad: [string | Buffer, RegExp][] = [
      ['not json', /JSON objects/],
      ['[1]', /JSON objects/],
      ['{"cmd":"reboot"}', /Unknown command/],
      ['{"cmd":"close"}', /needs a connection id/],
      ['{"cmd":"close","id":"1"}', /needs a connection id/],
      ['{"cmd":"close","id":999999}', /No open connection 999999/],
      ['{"cmd":"members","alias":"default"}', /needs an alias and a group/],
      ['{"cmd":"members","alias":"nope","group":"g"}', /No group 'g' on layer 'nope'/],
      [`{"cmd":"${'x'.repeat(5000)}"}`, /too long/],
      [Buffer.from([1, 2, 3]), /JSON text/],
    ]
    for (const [input, expected] of bad) {
      page.send(input)
      expect(String((await nextOfType(page, 'error')).message)).toMatch(expected)
    }
    // Nothing else happened: the chat is still open (the page's own socket is not listed).
    expect(server.inspect().connections.map((c) => [c.path, c.state])).toEqual([
      ['/ws/chat/', 'open'],
    ])
    chat.send('still here')
    expect(await chat.next()).toBe('still here')

    const id = server.inspect().connections.find((c) => c.path === '/ws/chat/')!.id
    page.send(JSON.stringify({ cmd: 'close', id }))
    expect(await nextOfType(page, 'closed')).toEqual({ type: 'closed', id })
    expect(await chat.closed).toEqual({ code: 1000, reason: DASHBOARD_CLOSE_REASON })
    const events = await nextOfType(page, 'events')
    expect(JSON.stringify(events)).toContain(`Connection ${id} closed from the dashboard`)
    page.close()
  })
})

describe('createInspector without a page', () => {
  it('keeps a bounded history and event log, and stops publishing to an unsubscribed listener', async () => {
    let inspections = 0
    const server = {
      inspect: () => {
        inspections++
        return {
          connections: [],
          opened: { http: inspections, websocket: 0 },
          closed: { http: 0, websocket: 0 },
          messagesIn: 0,
          messagesOut: 0,
        }
      },
      closeConnection: () => false,
    }
    const inspector = createInspector(server, {
      sampleIntervalMs: 10,
      historyLength: 3,
      eventLimit: 2,
    })
    try {
      const updates: string[] = []
      const unsubscribe = inspector.subscribe((u) => updates.push(u.kind))
      inspector.subscribe(() => {
        throw new Error('a broken listener')
      })
      await vi.waitFor(() => expect(inspector.history()).toHaveLength(3))
      expect(inspector.history()[2]!.openedPerSecond).toBeGreaterThan(0)
      inspector.recordLog({ level: 'debug', logger: 'channels.server', message: 'skipped' })
      inspector.recordLog({ level: 'info', logger: 'channels.http', message: 'skipped too' })
      inspector.recordLog({ level: 'info', logger: 'channels.server', message: 'kept' })
      inspector.recordLog({
        level: 'error',
        logger: 'channels.server',
        message: 'Exception inside application: boom',
        error: new Error('boom'),
      })
      inspector.recordLog({ level: 'warn', logger: 'x', message: 'thrown', error: 42 })
      // The server's line for a close from the page: the inspector's own event says it already.
      inspector.recordLog({
        level: 'info',
        logger: 'channels.server',
        message: `WebSocket /ws/ [127.0.0.1:5]: closed by the server (1000 ${DASHBOARD_CLOSE_REASON})`,
      })
      const events = inspector.events()
      expect(events.map((e) => e.message)).toEqual(['Exception inside application: boom', 'thrown'])
      expect(events[0]!.detail).toMatch(/^Error: boom\n\s+at /)
      expect(events[1]!.detail).toBe('Thrown: a number')
      expect(updates).toContain('sample')
      expect(updates).toContain('event')
      unsubscribe()
      const count = updates.length
      inspector.record({ level: 'info', source: 't', message: 'after', detail: null })
      expect(updates).toHaveLength(count)
      expect(inspector.closeConnection(1)).toBe(false)
      expect(inspector.groupMembers('default', 'g')).toBeNull()
    } finally {
      inspector.close()
    }
  })

  it('keeps refused handshakes and 5xx answers of the access events, not the rest', () => {
    const server = {
      inspect: () => ({
        connections: [],
        opened: { http: 0, websocket: 0 },
        closed: { http: 0, websocket: 0 },
        messagesIn: 0,
        messagesOut: 0,
      }),
      closeConnection: () => false,
    }
    const inspector = createInspector(server)
    try {
      const time = new Date()
      const ws = { protocol: 'websocket' as const, client: '127.0.0.1:5000', time }
      inspector.recordAccess({ ...ws, action: 'rejected', path: '/ws/x/', query: 'a=1' })
      inspector.recordAccess({ ...ws, action: 'connected', path: '/ws/y/' })
      inspector.recordAccess({ ...ws, action: 'rejected', path: '/_channels/ws' })
      const http = { protocol: 'http' as const, action: 'complete' as const, client: null, time }
      inspector.recordAccess({ ...http, method: 'GET', path: '/boom/', status: 500 })
      inspector.recordAccess({ ...http, method: 'GET', path: '/fine/', status: 404 })
      expect(inspector.events().map((e) => [e.level, e.message])).toEqual([
        ['warn', 'WebSocket handshake refused: /ws/x/?a=1 [127.0.0.1:5000]'],
        ['error', 'HTTP 500 GET /boom/'],
      ])
    } finally {
      inspector.close()
    }
  })

  it('describes rows with the describe hook and scope.user, newest first, up to tableLimit', () => {
    const entry = (id: number, ageMs: number, scope: object) => ({
      id,
      protocol: 'websocket' as const,
      path: '/ws/',
      client: null,
      state: 'open' as const,
      ageMs,
      messagesIn: 0,
      messagesOut: 0,
      bufferedBytes: 0,
      scope: scope as Scope,
      notes: null,
    })
    const server = {
      inspect: () => ({
        connections: [
          entry(1, 500, { user: { username: 'ada' } }),
          entry(2, 100, { user: { username: '' } }),
          entry(3, 300, {}),
        ],
        opened: { http: 0, websocket: 3 },
        closed: { http: 0, websocket: 0 },
        messagesIn: 0,
        messagesOut: 0,
      }),
      closeConnection: () => false,
    }
    const inspector = createInspector(server, {
      tableLimit: 2,
      describe: (scope) => ({ generation: 'user' in scope ? 7 : null }),
    })
    try {
      const { connections } = inspector.snapshot()
      expect(connections.table.map((r) => [r.id, r.user, r.generation])).toEqual([
        [2, 'anonymous', 7],
        [3, null, null],
      ])
      expect(connections.notListed).toBe(1)
      expect(connections.byRoute).toEqual([{ protocol: 'websocket', path: '/ws/', count: 3 }])
      expect(JSON.stringify(connections)).not.toContain('scope')
    } finally {
      inspector.close()
    }
  })
})
