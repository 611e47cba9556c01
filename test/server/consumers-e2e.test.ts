// End to end: ProtocolTypeRouter + URLRouter + AsyncWebsocketConsumer (groups over the in-memory
// channel layer) and AsyncHttpConsumer, served over real sockets on every reactor.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AsyncHttpConsumer, AsyncWebsocketConsumer } from '../../src/framework/consumers/index.js'
import { InMemoryChannelLayer } from '../../src/framework/layers/index.js'
import { channelLayers } from '../../src/framework/layers/registry.js'
import type { ChannelLayer } from '../../src/framework/layers/types.js'
import { ProtocolTypeRouter, URLRouter, rePath } from '../../src/framework/routing/index.js'
import { REACTORS, useLogRecords, useServers } from '../helpers/with-server.js'
import { openClient } from '../helpers/ws-client.js'

class ChatConsumer extends AsyncWebsocketConsumer {
  room = ''

  override async connect(): Promise<void> {
    const route = this.scope.url_route as unknown as { kwargs: { room_name: string } }
    this.room = `chat_${route.kwargs.room_name}`
    await this.channelLayer.groupAdd(this.room, this.channelName)
    await this.accept()
  }

  override async disconnect(): Promise<void> {
    await this.channelLayer.groupDiscard(this.room, this.channelName)
  }

  override async receive(textData?: string): Promise<void> {
    await this.channelLayer.groupSend(this.room, { type: 'chat.message', message: textData })
  }

  async chat_message(event: { message: string }): Promise<void> {
    await this.send({ textData: event.message })
  }
}

class HelloConsumer extends AsyncHttpConsumer {
  override async handle(): Promise<void> {
    await this.sendResponse(200, Buffer.from('hello from a consumer'), {
      headers: [['Content-Type', 'text/plain']],
    })
  }
}

const application = new ProtocolTypeRouter({
  http: new URLRouter([rePath(String.raw`^hello/$`, HelloConsumer.asAsgi())]),
  websocket: new URLRouter([
    rePath(String.raw`^ws/chat/(?<room_name>\w+)/$`, ChatConsumer.asAsgi()),
  ]),
})

describe.each(REACTORS)('consumers over the %s reactor', (reactor) => {
  const start = useServers()
  const logs = useLogRecords()
  let previous: ChannelLayer | null = null

  beforeEach(() => {
    previous = channelLayers.set('default', new InMemoryChannelLayer())
  })
  afterEach(() => {
    channelLayers.set('default', previous)
  })

  it('a chat message reaches every member of the room, and nobody else', async () => {
    const { wsUrl, url, server } = await start(application, { reactor, lifespan: 'auto' })
    const alice = await openClient(`${wsUrl}/ws/chat/lobby/`)
    const bob = await openClient(`${wsUrl}/ws/chat/lobby/`)
    const eve = await openClient(`${wsUrl}/ws/chat/other/`)
    alice.send('hi all')
    expect(await alice.next()).toBe('hi all')
    expect(await bob.next()).toBe('hi all')
    await expect(eve.next(200)).rejects.toThrow(/no message/)
    const response = await fetch(`${url}/hello/`)
    expect(await response.text()).toBe('hello from a consumer')
    for (const client of [alice, bob, eve]) client.close()
    await expect.poll(() => server.connectionCount).toBe(0)
    // ProtocolTypeRouter has no lifespan entry: 'auto' treats that as unsupported, not an error.
    expect(logs.filter((r) => r.level === 'error')).toEqual([])
  })

  it('an unknown route: HTTP gets a 404 page, WebSocket a 403 reject (both logged as warnings)', async () => {
    const { wsUrl, url, server } = await start(application, { reactor })
    const response = await fetch(`${url}/nope/`)
    expect(response.status).toBe(404)
    expect(await response.text()).toContain('No route matches this path.')
    await expect(openClient(`${wsUrl}/ws/nope/`)).rejects.toThrow(/403/)
    const warnings = logs.filter((r) => r.message.startsWith('Not Found: '))
    expect(warnings.map((r) => r.level)).toEqual(['warn', 'warn'])
    expect(warnings[1]!.message).toContain("No route found for path 'ws/nope/'.")
    expect(logs.filter((r) => r.level === 'error')).toEqual([])
    // The server still serves a known route afterwards.
    expect((await fetch(`${url}/hello/`)).status).toBe(200)
    await expect.poll(() => server.connectionCount).toBe(0)
  })
})
