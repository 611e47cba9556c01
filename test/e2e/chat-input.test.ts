/**
 * The startproject chat under hostile input, through the built binary (`channels serve`) on both
 * reactors: frames that are not `{"message": "..."}` are ignored without a log line and leave the
 * connection and the room working; a room name too long for a group name is refused by the route
 * (a 403 handshake, a 404 page) instead of failing inside the consumer.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { REACTORS } from '../helpers/with-server.js'
import {
  connect,
  ensureBuilt,
  handshakeStatus,
  httpGet,
  runBin,
  spawnBin,
  type Client,
  type Spawned,
} from './helpers.js'

let root: string
let project: string

beforeAll(() => {
  ensureBuilt()
  root = mkdtempSync(join(tmpdir(), 'channels-e2e-chat-input-'))
  project = join(root, 'mysite')
  const created = runBin(['startproject', 'mysite'], root)
  if (created.status !== 0) throw new Error(`startproject failed: ${created.stderr}`)
}, 120_000)

afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Frames a broken or hostile client might send instead of `{"message": "..."}`. */
const BAD_FRAMES = [
  'not json',
  'null',
  '42',
  '"text"',
  '[1, 2]',
  '{"text": "hi"}',
  '{"message": 5}',
]

describe.each(REACTORS)('the template chat on %s', (reactor) => {
  let server: Spawned
  let port: number
  const clients: Client[] = []

  beforeAll(async () => {
    server = spawnBin(['serve', '-p', '0', '--reactor', reactor], project)
    const match = await server.waitForOutput(/Listening on TCP address 127\.0\.0\.1:(\d+)/)
    port = Number(match[1])
  }, 60_000)

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    expect(await server.stop('SIGTERM')).toBe(0)
  })

  async function join(room: string): Promise<Client> {
    const client = await connect(port, `/ws/chat/${room}/`)
    clients.push(client)
    expect(await client.nextJson()).toEqual({ user: null })
    return client
  }

  it('ignores frames that are not a chat message; the room keeps working', async () => {
    const alice = await join('lobby')
    const bob = await join('lobby')
    for (const frame of BAD_FRAMES) alice.ws.send(frame)
    alice.ws.send(Buffer.from([1, 2, 3]))
    alice.ws.send(JSON.stringify({ message: 'still here' }))
    expect(await bob.nextJson()).toEqual({ message: 'still here', user: null })
    expect(await alice.nextJson()).toEqual({ message: 'still here', user: null })
    bob.ws.send(JSON.stringify({ message: 'hello alice' }))
    expect(await alice.nextJson()).toEqual({ message: 'hello alice', user: null })
    expect(await bob.nextJson()).toEqual({ message: 'hello alice', user: null })
    expect(alice.ws.readyState).toBe(WebSocket.OPEN)
    const log = server.stdout() + server.stderr()
    expect(log).not.toMatch(/ERROR|Exception inside application|SyntaxError|TypeError/)
    expect(log).not.toContain('"WSDISCONNECT /ws/chat/lobby/"')
  })

  it('refuses a room name too long for a group name at the route, not with a 500', async () => {
    const longest = 'r'.repeat(94) // `chat_` + 94 = 99 characters, the longest group name
    const tooLong = 'r'.repeat(95)
    const origin = `http://127.0.0.1:${port}`
    expect(await handshakeStatus(port, `/ws/chat/${tooLong}/`, origin)).toBe(403)
    expect(await handshakeStatus(port, `/ws/chat/${'x'.repeat(300)}/`, origin)).toBe(403)
    expect((await httpGet(port, `/chat/${tooLong}/`)).status).toBe(404)
    await server.waitForOutput(new RegExp(`WARNING +Not Found: WebSocket /ws/chat/${tooLong}/`))

    expect((await httpGet(port, `/chat/${longest}/`)).status).toBe(200)
    const member = await join(longest)
    member.ws.send(JSON.stringify({ message: 'long room' }))
    expect(await member.nextJson()).toEqual({ message: 'long room', user: null })
    const log = server.stdout() + server.stderr()
    expect(log).not.toMatch(/ERROR|Exception inside application|Group name must be/)
    expect(log).not.toMatch(/" 500 /)
  })
})
