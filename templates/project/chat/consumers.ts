/**
 * The Channels tutorial's chat consumer: everyone in `/ws/chat/<room>/` joins the group
 * `chat_<room>`; a `{"message": ...}` from one client is broadcast to all of them, and kept in the
 * chat log (worker.ts), which the room page loads from `/chat/<room>/history/` when it opens.
 * Plus an echo consumer, handy for trying things out.
 */
import { AsyncHttpConsumer, AsyncWebsocketConsumer, type AuthScope } from 'channels-ts'
import { keepMessage, roomHistory } from './worker.js'

/** What the room group carries: one line of chat. */
export interface ChatMessage {
  message: string
  user: string | null
}

/**
 * What the consumer declares: its route's kwargs (routing.ts checks the route against them), the
 * group messages it handles (each needs its handler, and a groupSend must carry their fields),
 * and the scope AuthMiddlewareStack gives it.
 */
export class ChatConsumer extends AsyncWebsocketConsumer<{
  kwargs: { room_name: string }
  events: { 'chat.message': ChatMessage }
  scope: AuthScope
}> {
  roomName = ''
  roomGroupName = ''

  override async connect(): Promise<void> {
    // The route admits 1 to 94 word characters, so `chat_<room>` is a valid group name.
    this.roomName = this.scope.url_route.kwargs.room_name
    this.roomGroupName = `chat_${this.roomName}`
    // Join the room group.
    await this.channelLayer.groupAdd(this.roomGroupName, this.channelName)
    await this.accept()
    // Tell the page who it is talking as.
    await this.send({ textData: JSON.stringify({ user: this.#userName() }) })
  }

  override async disconnect(_code: number): Promise<void> {
    // Leave the room group.
    await this.channelLayer.groupDiscard(this.roomGroupName, this.channelName)
  }

  /** A message from the WebSocket: pass it to everyone in the room. */
  override async receive(textData?: string): Promise<void> {
    const message = chatMessage(textData)
    if (message === undefined) return
    const user = this.#userName()
    await this.channelLayer.groupSend(this.roomGroupName, { type: 'chat.message', message, user })
    // Not awaited: the room does not wait for the log (keepMessage never fails).
    void keepMessage(this.channelLayer, this.roomName, { user, message })
  }

  /** A message from the room group (type 'chat.message'): send it down the WebSocket. */
  async chat_message(event: ChatMessage): Promise<void> {
    await this.send({ textData: JSON.stringify({ message: event.message, user: event.user }) })
  }

  /** The logged-in user's name (scope.user, from AuthMiddlewareStack), or null when anonymous. */
  #userName(): string | null {
    const { user } = this.scope
    // A backend's user counts as authenticated unless it says otherwise; AnonymousUser says false.
    return user.isAuthenticated !== false && user.username ? user.username : null
  }
}

/**
 * The text of a `{"message": "..."}` frame, or undefined for anything else (not JSON, another
 * shape, bytes). Such frames are ignored: any client can send them, and neither a log line nor a
 * closed socket per frame would help the room.
 */
function chatMessage(textData: string | undefined): string | undefined {
  if (textData === undefined) return undefined
  let data: unknown
  try {
    data = JSON.parse(textData)
  } catch {
    return undefined
  }
  if (typeof data !== 'object' || data === null || !('message' in data)) return undefined
  return typeof data.message === 'string' ? data.message : undefined
}

/** `GET /chat/<room>/history/`: the room's kept messages, as JSON, for the page to show first. */
export class HistoryConsumer extends AsyncHttpConsumer<{ kwargs: { room_name: string } }> {
  override async handle(): Promise<void> {
    const room = this.scope.url_route.kwargs.room_name
    const messages = await roomHistory(this.channelLayer, room)
    // kept: false when no worker answered; the page says so.
    const body = JSON.stringify({ messages: messages ?? [], kept: messages !== null })
    await this.sendResponse(200, body, { headers: { 'content-type': 'application/json' } })
  }
}

/** Sends every frame back as it came: text as text, bytes as bytes. */
export class EchoConsumer extends AsyncWebsocketConsumer {
  override async receive(textData?: string, bytesData?: Uint8Array): Promise<void> {
    if (textData !== undefined) await this.send({ textData })
    else if (bytesData !== undefined) await this.send({ bytesData })
  }
}
