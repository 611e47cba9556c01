/**
 * The startproject template's chat app (templates/project/chat/consumers.ts, chat/worker.ts and
 * project_name/routing.ts) written with the typed API: no `!`, no `String(...)`, no `as` under
 * this repository's strict tsconfig (strict, noUncheckedIndexedAccess, noImplicitOverride). It is
 * the proof that the API can carry the template; the template itself moves to it separately.
 * `npm run typecheck` checks it; the tests run it in-process.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  AsyncConsumer,
  AsyncHttpConsumer,
  AsyncWebsocketConsumer,
  ChannelNameRouter,
  getChannelLayer,
  InMemoryChannelLayer,
  overrideSettings,
  path,
  ProtocolTypeRouter,
  registerConverter,
  rePath,
  URLRouter,
  type Application,
  type AuthScope,
  type ChannelLayer,
  type EventLayer,
  type PathKwargs,
} from '../../src/index.js'
import {
  ApplicationCommunicator,
  HttpCommunicator,
  WebsocketCommunicator,
} from '../../src/framework/testing/index.js'

// ---------------------------------------------------------------------------------------------
// chat/worker.ts, the parts the consumers use: the chat log's messages and two helpers that take
// any layer (here only the in-memory branch is kept).

/** A kept message, as the page shows it. */
export interface LoggedMessage {
  user: string | null
  message: string
}

/** What the chat-log worker handles. */
export type ChatLogEvents = {
  'chat.log': LoggedMessage & { room: string }
  'chat.history': { room: string; reply_channel: string }
}

const rooms = new Map<string, LoggedMessage[]>()

/** Keep a chat message (the template sends it to the worker when the layer is not in-memory). */
export async function keepMessage(
  layer: ChannelLayer,
  room: string,
  entry: LoggedMessage,
): Promise<void> {
  if (layer instanceof InMemoryChannelLayer) {
    rooms.set(room, [...(rooms.get(room) ?? []), entry])
    return
  }
  const log: EventLayer<ChatLogEvents> = layer
  await log.send('chat-log', { type: 'chat.log', room, ...entry })
}

/** The room's kept messages, oldest first. */
export async function roomHistory(layer: ChannelLayer, room: string): Promise<LoggedMessage[]> {
  return layer instanceof InMemoryChannelLayer ? (rooms.get(room) ?? []) : []
}

/** What the worker answers a history request with, on the requester's reply channel. */
export type HistoryReply = { 'chat.history.reply': { messages: LoggedMessage[] } }

/** The `chat-log` worker: its messages typed, so its handlers need no field checks of their own. */
export class ChatLogConsumer extends AsyncConsumer<{ events: ChatLogEvents }> {
  chat_log({ room, user, message }: ChatLogEvents['chat.log']): void {
    rooms.set(room, [...(rooms.get(room) ?? []), { user, message }])
  }

  async chat_history(event: ChatLogEvents['chat.history']): Promise<void> {
    // The reply goes to whoever asked, not to a chat-log worker: the layer viewed as theirs.
    const requester: EventLayer<HistoryReply> = this.channelLayer
    await requester.send(event.reply_channel, {
      type: 'chat.history.reply',
      messages: rooms.get(event.room) ?? [],
    })
  }
}

// ---------------------------------------------------------------------------------------------
// chat/consumers.ts

/** What the room group carries: one line of chat. */
export interface ChatMessage {
  message: string
  user: string | null
}

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
 * shape, bytes). `in` narrows `unknown` without a cast.
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

/** `GET /chat/<room>/history/`: the room's kept messages, as JSON. */
export class HistoryConsumer extends AsyncHttpConsumer<{ kwargs: { room_name: string } }> {
  override async handle(): Promise<void> {
    const room = this.scope.url_route.kwargs.room_name
    const messages = await roomHistory(this.channelLayer, room)
    const body = JSON.stringify({ messages, kept: true })
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

// ---------------------------------------------------------------------------------------------
// project_name/routing.ts. A string literal (not String.raw) lets rePath() read the group names
// and check them against ChatConsumer's kwargs; a misspelled `(?<roomname>…)` is a compile error.

/** Stands in for AuthMiddlewareStack: puts a user in the scope (sessions are not the point). */
function withUser(app: Application): Application {
  return (scope, receive, send) =>
    app({ ...scope, user: { id: 1, username: 'ann' } }, receive, send)
}

export const websocketRoutes = new URLRouter([
  // A group name is shorter than 100 characters: `chat_` and at most 94 more.
  rePath('^ws/chat/(?<room_name>\\w{1,94})/$', ChatConsumer.asAsgi()),
  path('ws/echo/', EchoConsumer.asAsgi()),
])

export const application = new ProtocolTypeRouter({
  http: new URLRouter([
    rePath('^chat/(?<room_name>\\w{1,94})/history/$', HistoryConsumer.asAsgi()),
  ]),
  websocket: withUser(websocketRoutes),
  channel: new ChannelNameRouter({ 'chat-log': ChatLogConsumer.asAsgi() }),
})

// Two other ways to write the room route, for the template to choose from.
declare module '../../src/framework/routing/route-params.js' {
  interface PathConverterTypes {
    /** 1 to 94 word characters: a room name that fits a group name. */
    room: string
  }
}

describe("the template's chat app, typed", () => {
  it('offers a converter for rooms, and String.raw (not checked: the consumer is trusted)', () => {
    registerConverter({ regex: '\\w{1,94}', toPython: (value) => value }, 'room')
    const routes = new URLRouter([
      path('ws/chat/<room:room_name>/', ChatConsumer.asAsgi()),
      rePath(String.raw`^ws/chat/(?<room_name>\w{1,94})/$`, ChatConsumer.asAsgi()),
      // @ts-expect-error a misspelled kwarg in the converter route is caught
      path('ws/chat/<room:roomname>/', ChatConsumer.asAsgi()),
    ])
    expect(routes.routes).toHaveLength(3)
  })

  it('types what the template reads', () => {
    expectTypeOf<PathKwargs<'ws/chat/<room:room_name>/'>>().toEqualTypeOf<{ room_name: string }>()
    expectTypeOf<ChatConsumer['scope']['url_route']['kwargs']['room_name']>().toBeString()
    expectTypeOf<ChatConsumer['scope']['user']['username']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<HistoryConsumer['channelLayer']>().toEqualTypeOf<ChannelLayer>()
    expectTypeOf<ChatConsumer['channelLayer']>().toEqualTypeOf<
      EventLayer<{ 'chat.message': ChatMessage }>
    >()
  })

  it('chats in a room, keeps the log, and answers the history', async () => {
    await overrideSettings(
      { CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } } },
      async () => {
        const ann = new WebsocketCommunicator(application, '/ws/chat/lobby/')
        const bob = new WebsocketCommunicator(application, '/ws/chat/lobby/')
        expect((await ann.connect())[0]).toBe(true)
        expect((await bob.connect())[0]).toBe(true)
        expect(await ann.receiveJsonFrom()).toEqual({ user: 'ann' })
        expect(await bob.receiveJsonFrom()).toEqual({ user: 'ann' })
        await ann.sendJsonTo({ message: 'hello' })
        expect(await bob.receiveJsonFrom()).toEqual({ message: 'hello', user: 'ann' })
        expect(await ann.receiveJsonFrom()).toEqual({ message: 'hello', user: 'ann' })
        await ann.sendTo({ textData: 'not json' })
        expect(await bob.receiveNothing()).toBe(true)
        await ann.disconnect()
        await bob.disconnect()

        const history = await new HttpCommunicator(
          application,
          'GET',
          '/chat/lobby/history/',
        ).getResponse()
        expect(JSON.parse(Buffer.from(history.body).toString())).toEqual({
          messages: [{ user: 'ann', message: 'hello' }],
          kept: true,
        })

        const worker = new ApplicationCommunicator(application, {
          type: 'channel',
          channel: 'chat-log',
        })
        await worker.sendInput({ type: 'chat.log', room: 'attic', user: null, message: 'hi' })
        await expect.poll(() => rooms.get('attic')).toEqual([{ user: null, message: 'hi' }])
        const layer = getChannelLayer()
        if (layer === null) throw new Error('CHANNEL_LAYERS is set above')
        const replyChannel = await layer.newChannel()
        await worker.sendInput({ type: 'chat.history', room: 'attic', reply_channel: replyChannel })
        expect(await layer.receive(replyChannel)).toEqual({
          type: 'chat.history.reply',
          messages: [{ user: null, message: 'hi' }],
        })
        worker.stop()
      },
    )
  })
})
