// README's live-server example ("Testing your consumers"), verbatim below this comment: it runs
// against this checkout's build through the package's own name, and test/testing/live-server.test.ts
// checks that README still shows exactly this text.
import { once } from 'node:events'
import { afterAll, beforeAll, expect, test } from 'vitest'
import WebSocket from 'ws'
import { startLiveServer, type LiveServer } from 'channels-ts/testing'
import { application } from './routing.js'

let server: LiveServer
beforeAll(async () => {
  server = await startLiveServer(application)
})
afterAll(() => server.stop())

test('the page loads and the room chats', async () => {
  const page = await fetch(`${server.url}/`)
  expect(page.status).toBe(200)

  // A browser's Origin, for routing behind AllowedHostsOriginValidator.
  const options = { origin: server.url }
  const alice = new WebSocket(`${server.wsUrl}/ws/chat/lobby/`, options)
  const bob = new WebSocket(`${server.wsUrl}/ws/chat/lobby/`, options)
  await Promise.all([once(alice, 'open'), once(bob, 'open')])
  const received = once(alice, 'message')
  bob.send(JSON.stringify({ message: 'hello' }))
  const [data] = await received
  expect(JSON.parse(String(data))).toEqual({ message: 'hello' })

  alice.close()
  bob.close()
  await Promise.all([once(alice, 'close'), once(bob, 'close')])
})
