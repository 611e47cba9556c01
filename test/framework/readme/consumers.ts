// README's "Consumers and routing" example, verbatim below this comment (readme.test.ts checks README shows it).
import { AsyncWebsocketConsumer, ProtocolTypeRouter, URLRouter, path } from 'channels-ts'

/** What the room's group carries. */
export interface ChatMessage {
  message: string
}

export class ChatConsumer extends AsyncWebsocketConsumer<{
  kwargs: { room_name: string } // this.scope.url_route.kwargs; routes are checked against it
  events: { 'chat.message': ChatMessage } // group messages; each type needs its handler
}> {
  room = ''

  override async connect() {
    this.room = `chat_${this.scope.url_route.kwargs.room_name}`
    await this.channelLayer.groupAdd(this.room, this.channelName)
    await this.accept()
  }

  override async disconnect(_code: number) {
    await this.channelLayer.groupDiscard(this.room, this.channelName)
  }

  override async receive(textData?: string) {
    const data: unknown = JSON.parse(textData ?? '{}')
    if (typeof data !== 'object' || data === null || !('message' in data)) return
    if (typeof data.message !== 'string') return
    // Checked against `events`: a missing field or an unknown type does not compile.
    await this.channelLayer.groupSend(this.room, { type: 'chat.message', message: data.message })
  }

  // type 'chat.message' → handler chat_message, as in Channels
  async chat_message(event: ChatMessage) {
    await this.send({ textData: JSON.stringify({ message: event.message }) })
  }
}

export const application = new ProtocolTypeRouter({
  websocket: new URLRouter([path('ws/chat/<str:room_name>/', ChatConsumer.asAsgi())]),
})
