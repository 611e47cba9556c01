/**
 * The `./routing.js` of README's live-server example (chat.test.ts): a chat room over the
 * in-memory layer and a page at `/`, built from the installed package (`channels-ts`, this
 * checkout's build) the way a project's routing is. The consumers reach the layer through
 * getChannelLayer(), whose type does not depend on the consumer's declarations.
 */
import {
  AllowedHostsOriginValidator,
  AsyncHttpConsumer,
  AsyncWebsocketConsumer,
  ProtocolTypeRouter,
  URLRouter,
  configureSettings,
  getChannelLayer,
  path,
} from 'channels-ts'

// What a project's test setup file does (README: "Testing your consumers").
configureSettings({
  ALLOWED_HOSTS: ['127.0.0.1'],
  CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } },
})

class ChatConsumer extends AsyncWebsocketConsumer {
  room = ''

  override async connect(): Promise<void> {
    this.room = `chat_${String(this.scope.url_route?.kwargs.room_name)}`
    await getChannelLayer()!.groupAdd(this.room, this.channelName)
    await this.accept()
  }

  override async disconnect(): Promise<void> {
    await getChannelLayer()!.groupDiscard(this.room, this.channelName)
  }

  override async receive(textData?: string): Promise<void> {
    const { message } = JSON.parse(textData ?? '{}') as { message?: string }
    await getChannelLayer()!.groupSend(this.room, { type: 'chat.message', message })
  }

  async chat_message(event: { message: string }): Promise<void> {
    await this.send({ textData: JSON.stringify({ message: event.message }) })
  }
}

class IndexPage extends AsyncHttpConsumer {
  override async handle(): Promise<void> {
    await this.sendResponse(200, '<h1>Chat rooms</h1>', {
      headers: [['content-type', 'text/html; charset=utf-8']],
    })
  }
}

export const application = new ProtocolTypeRouter({
  http: new URLRouter([path('', IndexPage.asAsgi())]),
  websocket: AllowedHostsOriginValidator(
    new URLRouter([path('ws/chat/<str:room_name>/', ChatConsumer.asAsgi())]),
  ),
})
