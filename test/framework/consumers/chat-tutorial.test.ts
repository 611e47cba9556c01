import { describe, expect, it } from 'vitest'
import type { ChannelMessage } from '../../../src/framework/asgi/types.js'
import { AsyncWebsocketConsumer } from '../../../src/framework/consumers/websocket.js'
import type { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import { getChannelLayer } from '../../../src/framework/layers/registry.js'
import { rePath, URLRouter } from '../../../src/framework/routing/index.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { WebsocketCommunicator } from '../../../src/framework/testing/websocket-communicator.js'

// The Channels tutorial's chat consumer (docs/tutorial/part_3), line for line.
class ChatConsumer extends AsyncWebsocketConsumer {
  roomGroupName = ''

  override async connect(): Promise<void> {
    const roomName = this.scope.url_route!.kwargs.room_name as string
    this.roomGroupName = `chat_${roomName}`
    // Join room group
    await this.channelLayer.groupAdd(this.roomGroupName, this.channelName)
    await this.accept()
  }

  override async disconnect(): Promise<void> {
    // Leave room group
    await this.channelLayer.groupDiscard(this.roomGroupName, this.channelName)
  }

  // Receive message from WebSocket
  override async receive(textData?: string): Promise<void> {
    const { message } = JSON.parse(textData!) as { message: string }
    // Send message to room group
    await this.channelLayer.groupSend(this.roomGroupName, { type: 'chat.message', message })
  }

  // Receive message from room group
  async chat_message(event: ChannelMessage): Promise<void> {
    // Send message to WebSocket
    await this.send({ textData: JSON.stringify({ message: event.message }) })
  }
}

const application = new URLRouter([
  rePath(String.raw`^ws/chat/(?<room_name>\w+)/$`, ChatConsumer.asAsgi()),
])

describe('the Channels tutorial chat consumer', () => {
  it('broadcasts to everyone in the room and nobody else', async () => {
    await overrideSettings(
      { CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } } },
      async () => {
        const alice = new WebsocketCommunicator(application, '/ws/chat/lobby/')
        const bob = new WebsocketCommunicator(application, '/ws/chat/lobby/')
        const carol = new WebsocketCommunicator(application, '/ws/chat/kitchen/')
        for (const communicator of [alice, bob, carol]) {
          expect(await communicator.connect()).toEqual([true, null])
        }
        const layer = getChannelLayer() as InMemoryChannelLayer
        expect([...layer.groups.keys()].sort()).toEqual(['chat_kitchen', 'chat_lobby'])

        await alice.sendJsonTo({ message: 'hello lobby' })
        expect(await alice.receiveJsonFrom()).toEqual({ message: 'hello lobby' })
        expect(await bob.receiveJsonFrom()).toEqual({ message: 'hello lobby' })
        expect(await carol.receiveNothing()).toBe(true)

        await carol.sendJsonTo({ message: 'kitchen only' })
        expect(await carol.receiveJsonFrom()).toEqual({ message: 'kitchen only' })
        expect(await alice.receiveNothing()).toBe(true)
        expect(await bob.receiveNothing()).toBe(true)

        for (const communicator of [alice, bob, carol]) await communicator.disconnect()
        expect(layer.groups.size).toBe(0)
      },
    )
  })
})
