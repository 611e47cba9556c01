/**
 * The startproject template, end to end through the built binary: scaffold into a temp folder,
 * runserver on a free port, pages and static files over HTTP, the tutorial chat between two real
 * WebSocket clients, then hot reload: new connections get new code while connections opened
 * before keep theirs, a broken save keeps the last good generation serving.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connect,
  ensureBuilt,
  handshakeStatus,
  httpGet,
  runBin,
  startRunserver,
  type Client,
  type Spawned,
} from './helpers.js'

let root: string
let project: string
let server: Spawned & { port: number }
const clients: Client[] = []

beforeAll(async () => {
  ensureBuilt()
  root = mkdtempSync(join(tmpdir(), 'channels-e2e-template-'))
  project = join(root, 'mysite')
  const created = runBin(['startproject', 'mysite'], root)
  if (created.status !== 0) throw new Error(`startproject failed: ${created.stderr}`)
  server = await startRunserver(project)
}, 120_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  // Unset when beforeAll failed.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
  const code = await server?.stop('SIGINT')
  rmSync(root, { recursive: true, force: true })
  expect(code).toBe(0)
})

async function client(path: string): Promise<Client> {
  const c = await connect(server.port, path)
  clients.push(c)
  return c
}

/** One echo over a fresh connection. */
async function echoOnce(text: string): Promise<string> {
  const c = await connect(server.port, '/ws/echo/')
  c.ws.send(text)
  const reply = await c.next()
  await c.close()
  return reply
}

describe('pages and static files', () => {
  it('GET / is the room chooser and /chat/<room>/ the room page', async () => {
    const index = await httpGet(server.port, '/')
    expect(index.status).toBe(200)
    expect(index.type).toBe('text/html; charset=utf-8')
    expect(index.body).toContain('What chat room would you like to enter?')
    const room = await httpGet(server.port, '/chat/lobby/')
    expect(room.status).toBe(200)
    expect(room.body).toContain('<script src="/static/chat.js"></script>')
  })

  it('serves static files with their content type', async () => {
    const js = await httpGet(server.port, '/static/chat.js')
    expect(js.status).toBe(200)
    expect(js.type).toBe('text/javascript; charset=utf-8')
    expect(js.body).toContain('/ws/chat/')
    const css = await httpGet(server.port, '/static/style.css')
    expect(css.type).toBe('text/css; charset=utf-8')
    expect((await httpGet(server.port, '/static/nope.css')).status).toBe(404)
  })

  it.each([
    '/static/..%2f..%2fsettings.ts',
    '/static/%2e%2e/settings.ts',
    '/static/%2e%2e%2fsettings.ts',
    '/static/..%5csettings.ts',
  ])('refuses traversal %s', async (path) => {
    const res = await httpGet(server.port, path)
    expect([400, 404]).toContain(res.status)
    expect(res.body).not.toContain('SECRET_KEY')
  })

  it('logs each request in runserver format', async () => {
    await httpGet(server.port, '/static/style.css')
    await server.waitForOutput(
      /HTTP GET \/static\/style\.css 200 \[\d+\.\d\d, 127\.0\.0\.1(?::\d+)?\]/,
    )
  })
})

describe('chat', () => {
  it('broadcasts a message to everyone in the room, not to other rooms', async () => {
    const alice = await client('/ws/chat/lobby/')
    const bob = await client('/ws/chat/lobby/')
    const carol = await client('/ws/chat/kitchen/')
    for (const c of [alice, bob, carol]) expect(await c.nextJson()).toEqual({ user: null })
    alice.ws.send(JSON.stringify({ message: 'hello room' }))
    expect(await alice.nextJson()).toEqual({ message: 'hello room', user: null })
    expect(await bob.nextJson()).toEqual({ message: 'hello room', user: null })
    carol.ws.send(JSON.stringify({ message: 'kitchen only' }))
    expect(await carol.nextJson()).toEqual({ message: 'kitchen only', user: null })
    // Bob's next message is the next lobby message, not the kitchen one.
    alice.ws.send(JSON.stringify({ message: 'second' }))
    expect(await bob.nextJson()).toEqual({ message: 'second', user: null })
    await server.waitForOutput(
      /WebSocket HANDSHAKING \/ws\/chat\/lobby\/ \[127\.0\.0\.1(?::\d+)?\]/,
    )
    await server.waitForOutput(/WebSocket CONNECT \/ws\/chat\/lobby\/ \[127\.0\.0\.1(?::\d+)?\]/)
  })

  it('echoes text and bytes', async () => {
    const echo = await client('/ws/echo/')
    echo.ws.send('text frame')
    expect(await echo.next()).toBe('text frame')
    echo.ws.send(Buffer.from([0, 1, 2, 255]))
    expect([...(await echo.nextBinary())]).toEqual([0, 1, 2, 255])
  })

  it('refuses a WebSocket from a foreign origin (AllowedHostsOriginValidator): 403', async () => {
    expect(await handshakeStatus(server.port, '/ws/echo/', 'http://evil.example')).toBe(403)
    await server.waitForOutput(/WebSocket REJECT \/ws\/echo\/ \[127\.0\.0\.1(?::\d+)?\]/)
  })
})

describe('hot reload', () => {
  it('new connections get new code, open ones keep theirs, broken saves keep serving', async () => {
    const file = join(project, 'chat/consumers.ts')
    const original = readFileSync(file, 'utf8')
    const withPrefix = (prefix: string) =>
      original.replace(
        'if (textData !== undefined) await this.send({ textData })',
        `if (textData !== undefined) await this.send({ textData: '${prefix}' + textData })`,
      )
    expect(withPrefix('x')).not.toBe(original)

    const before = await client('/ws/echo/')
    const roomBefore = await client('/ws/chat/reload/')
    expect(await roomBefore.nextJson()).toEqual({ user: null })

    writeFileSync(file, withPrefix('v2:'))
    await server.waitForOutput(/Detected changes in 'chat\/consumers\.ts'\. Reloading\.\.\.\n/)
    await server.waitForOutput(/Reloaded in \d+ ms \(generation 2\)/)
    expect(await echoOnce('hi')).toBe('v2:hi')
    // The connection opened before the reload still runs the old consumer.
    before.ws.send('old')
    expect(await before.next()).toBe('old')

    // The channel layer survived: a new-generation member of the room reaches the old one.
    const roomAfter = await client('/ws/chat/reload/')
    expect(await roomAfter.nextJson()).toEqual({ user: null })
    roomAfter.ws.send(JSON.stringify({ message: 'across generations' }))
    expect(await roomBefore.nextJson()).toEqual({ message: 'across generations', user: null })
    expect(await roomAfter.nextJson()).toEqual({ message: 'across generations', user: null })

    // A syntax error: reported with its location, generation 2 keeps serving.
    writeFileSync(file, `${withPrefix('v3:')}\nexport const broken = (\n`)
    await server.waitForOutput(/ERROR[^\n]*\n\s+chat\/consumers\.ts:\d+:\d+/)
    await server.waitForOutput(/Still serving generation 2; fix the error and save again\./)
    expect(await echoOnce('still')).toBe('v2:still')

    // Fixed: served again by a new generation.
    writeFileSync(file, withPrefix('v3:'))
    await server.waitForOutput(/Reloaded in \d+ ms \(generation 3\)/)
    expect(await echoOnce('back')).toBe('v3:back')
    before.ws.send('still old')
    expect(await before.next()).toBe('still old')
    expect(before.ws.readyState).toBe(before.ws.OPEN)
  })
})
