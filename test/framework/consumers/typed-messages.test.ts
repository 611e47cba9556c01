/**
 * Typed consumers: declared events (message `type` → payload), the channel layer a consumer sees
 * (non-null, typed by its events), handler checks at `asAsgi()`, middleware keys in the scope.
 * The type-level half is checked by `npm run typecheck` (an `expectTypeOf` that does not hold, or
 * a `// @ts-expect-error` line that compiles, fails it); the runtime half shows that the types
 * changed nothing in dispatch. test/framework/typed-api.test.ts checks the wording of the errors.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  AsyncConsumer,
  AsyncWebsocketConsumer,
  ChannelNameRouter,
  getChannelLayer,
  InvalidChannelLayerError,
  overrideSettings,
  path,
  URLRouter,
  WebsocketConsumer,
  type AuthScope,
  type ChannelLayer,
  type ChannelMessage,
  type EventLayer,
  type EventMessage,
  type HandlerName,
  type InMemoryChannelLayer,
  type WebSocketScope,
} from '../../../src/index.js'
import {
  ApplicationCommunicator,
  WebsocketCommunicator,
} from '../../../src/framework/testing/index.js'

const IN_MEMORY = { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } }

/** A room's line of chat, as the group carries it (an interface: no index signature). */
interface ChatLine {
  message: string
  user: string | null
}

type ChatEvents = {
  'chat.message': ChatLine
  'chat.user.left': { user: string }
}

class ChatConsumer extends AsyncWebsocketConsumer<{
  kwargs: { room_name: string }
  events: ChatEvents
}> {
  override async connect(): Promise<void> {
    await this.channelLayer.groupAdd(this.#group(), this.channelName)
    await this.accept()
  }

  override async disconnect(): Promise<void> {
    await this.channelLayer.groupDiscard(this.#group(), this.channelName)
  }

  override async receive(textData?: string): Promise<void> {
    await this.channelLayer.groupSend(this.#group(), {
      type: 'chat.message',
      message: textData ?? '',
      user: null,
    })
  }

  async chat_message(event: ChatLine): Promise<void> {
    await this.send({ textData: event.message })
  }

  // The whole message, `type` included, is what a handler gets.
  async chat_user_left(event: EventMessage<ChatEvents, 'chat.user.left'>): Promise<void> {
    expectTypeOf(event.type).toEqualTypeOf<'chat.user.left'>()
    await this.send({ textData: `${event.user} left` })
  }

  #group(): string {
    return `chat_${this.scope.url_route.kwargs.room_name}`
  }
}

describe('HandlerName', () => {
  it("is Channels' rule: every '.' becomes '_'", () => {
    expectTypeOf<HandlerName<'chat.message'>>().toEqualTypeOf<'chat_message'>()
    expectTypeOf<HandlerName<'a.b.c'>>().toEqualTypeOf<'a_b_c'>()
    expectTypeOf<HandlerName<'ping'>>().toEqualTypeOf<'ping'>()
  })
})

describe('the channel layer a consumer sees', () => {
  it('is non-null, and typed by the declared events', () => {
    class Plain extends AsyncWebsocketConsumer {
      override async connect(): Promise<void> {
        expectTypeOf(this.channelLayer).toEqualTypeOf<ChannelLayer>()
        await this.channelLayer.groupAdd('g', this.channelName)
        // Untyped, any message goes, as before.
        await this.channelLayer.groupSend('g', { type: 'any.thing', n: 1 })
      }
    }
    class Typed extends AsyncWebsocketConsumer<{ events: ChatEvents }> {
      override async connect(): Promise<void> {
        expectTypeOf(this.channelLayer).toEqualTypeOf<EventLayer<ChatEvents>>()
        // It is still a ChannelLayer: code that takes any layer takes it.
        expectTypeOf(this.channelLayer).toExtend<ChannelLayer>()
        await keep(this.channelLayer)
      }
      chat_message(): void {}
      chat_user_left(): void {}
    }
    async function keep(layer: ChannelLayer): Promise<void> {
      await layer.send('log', { type: 'log.line', text: 'x' })
    }
    expect([Plain.asAsgi(), Typed.asAsgi()]).toHaveLength(2)
  })

  it('checks groupSend and send against the event map', async () => {
    const layer: EventLayer<ChatEvents> = new (class {})() as never
    const send = (): Promise<unknown> =>
      Promise.all([
        layer.groupSend('g', { type: 'chat.message', message: 'hi', user: null }),
        layer.send('c', { type: 'chat.user.left', user: 'ann' }),
        // @ts-expect-error the payload lacks `user`, which chat_message's ChatLine needs
        layer.groupSend('g', { type: 'chat.message', message: 'hi' }),
        // @ts-expect-error the same on send()
        layer.send('c', { type: 'chat.message', message: 'hi' }),
        // @ts-expect-error a field of the wrong type
        layer.groupSend('g', { type: 'chat.message', message: 1, user: null }),
        // @ts-expect-error a field the type does not have
        layer.groupSend('g', { type: 'chat.message', message: 'hi', user: null, extra: 1 }),
        // @ts-expect-error a type the map does not name (misspelled)
        layer.groupSend('g', { type: 'chat.mesage', message: 'hi', user: null }),
        // @ts-expect-error a message needs its type
        layer.groupSend('g', { message: 'hi', user: null }),
      ])
    expect(typeof send).toBe('function')
  })

  it('admits other types when the map has an index signature, and still checks named ones', () => {
    type DjangoEvents = {
      'chat.message': ChatLine
      /** Anything a Django consumer in the same group sends. */
      [type: string]: object
    }
    const layer: EventLayer<DjangoEvents> = new (class {})() as never
    const send = (): Promise<unknown> =>
      Promise.all([
        layer.groupSend('g', { type: 'django.notice', anything: [1, 2] }),
        layer.groupSend('g', { type: 'chat.message', message: 'hi', user: 'ann' }),
        // @ts-expect-error chat.message is named: its fields are required
        layer.groupSend('g', { type: 'chat.message', message: 'hi' }),
      ])
    expect(typeof send).toBe('function')
  })

  it('is one annotation away for code outside a consumer, or for another kind of consumer', () => {
    async function notify(): Promise<void> {
      const layer: EventLayer<ChatEvents> | null = getChannelLayer()
      await layer?.groupSend('chat_lobby', { type: 'chat.message', message: 'hi', user: null })
      // @ts-expect-error checked like a consumer's own layer
      await layer?.groupSend('chat_lobby', { type: 'chat.message', message: 'hi' })
    }
    class Chatty extends AsyncConsumer<{ events: ChatEvents }> {
      async chat_message(event: ChatLine): Promise<void> {
        // The chat-log worker's messages are not a chat consumer's: view the layer as its.
        const log: EventLayer<{ 'log.line': { text: string } }> = this.channelLayer
        await log.send('log', { type: 'log.line', text: event.message })
        // @ts-expect-error not a chat consumer's message
        await this.channelLayer.send('log', { type: 'log.line', text: event.message })
      }
      chat_user_left(): void {}
    }
    expect(typeof notify).toBe('function')
    expect(Chatty.asAsgi()).toBeTypeOf('function')
  })

  it('throws InvalidChannelLayerError naming CHANNEL_LAYERS when no layer is configured', async () => {
    const seen: unknown[] = []
    class NeedsLayer extends AsyncConsumer {
      probe(): void {
        try {
          seen.push(this.channelLayer)
        } catch (error) {
          seen.push(error)
        }
      }
    }
    await overrideSettings({ CHANNEL_LAYERS: {} }, async () => {
      const run = new ApplicationCommunicator(NeedsLayer.asAsgi(), {
        type: 'channel',
        channel: 'x',
      })
      await run.sendInput({ type: 'probe' })
      await expect.poll(() => seen.length).toBe(1)
      run.stop()
    })
    expect(seen[0]).toBeInstanceOf(InvalidChannelLayerError)
    expect((seen[0] as Error).message).toBe(
      "NeedsLayer.channelLayer: no channel layer is configured for alias 'default'. Add it to " +
        "CHANNEL_LAYERS in settings, e.g. CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers." +
        "InMemoryChannelLayer' } }.",
    )
  })

  it('throws before the consumer serves a connection, and takes a layer set by hand', () => {
    const consumer = new ChatConsumer()
    expect(() => consumer.channelLayer).toThrow(
      new InvalidChannelLayerError(
        'ChatConsumer.channelLayer was read before the consumer serves a connection: it is ' +
          'looked up in CHANNEL_LAYERS when the connection starts.',
      ),
    )
    const layer = { extensions: [] } as unknown as ChannelLayer
    consumer.channelLayer = layer
    expect(consumer.channelLayer).toBe(layer)
    consumer.channelLayer = null
    expect(() => consumer.channelLayer).toThrow(InvalidChannelLayerError)
  })
})

describe('handler checks at asAsgi()', () => {
  it('accept handlers for every declared type, whose parameter takes the message', () => {
    class NoParameter extends AsyncConsumer<{ events: { 'job.done': { id: number } } }> {
      job_done(): void {}
    }
    class WholeMessage extends AsyncConsumer<{ events: { 'job.done': { id: number } } }> {
      job_done(_message: ChannelMessage): void {}
    }
    class Wider extends AsyncConsumer<{ events: { 'job.done': { id: number } } }> {
      job_done(_message: { id: number | string }): void {}
    }
    expect(NoParameter.asAsgi()).toBeTypeOf('function')
    expect(WholeMessage.asAsgi()).toBeTypeOf('function')
    expect(Wider.asAsgi()).toBeTypeOf('function')
  })

  it('leave alone protocol handlers, private and camelCase helpers, fields and getters', () => {
    class Fine extends AsyncWebsocketConsumer<{ events: { 'job.done': { id: number } } }> {
      room_name = 'not a method'
      get user_name(): string {
        return 'a getter'
      }
      override websocket_receive(): Promise<void> {
        return Promise.resolve()
      }
      job_done(): void {
        this.#helper_method()
        this.camelHelper()
      }
      camelHelper(): void {}
      #helper_method(): void {}
    }
    expect(Fine.asAsgi()).toBeTypeOf('function')
  })

  it('reject a handler named for no declared type', () => {
    class Misspelled extends AsyncConsumer<{ events: { 'chat.message': ChatLine } }> {
      chat_message(): void {}
      chat_mesage(): void {}
    }
    // @ts-expect-error chat_mesage: no declared type gives that name
    expect(Misspelled.asAsgi()).toBeTypeOf('function')
  })

  it('reject a declared type without its handler', () => {
    class Missing extends AsyncConsumer<{ events: { 'chat.message': ChatLine } }> {
      chatMessage(): void {}
    }
    // @ts-expect-error chat.message has no chat_message
    expect(Missing.asAsgi()).toBeTypeOf('function')
  })

  it("reject a handler whose parameter needs a field its type's message does not carry", () => {
    class Needy extends AsyncConsumer<{ events: { 'chat.message': ChatLine } }> {
      chat_message(_event: ChatLine & { room: string }): void {}
    }
    // @ts-expect-error chat_message needs `room`, which a chat.message does not carry
    expect(Needy.asAsgi()).toBeTypeOf('function')
  })

  it('allow handlers for other types when the map is open', () => {
    class Open extends AsyncConsumer<{
      events: { 'chat.message': ChatLine; [type: string]: object }
    }> {
      chat_message(): void {}
      django_notice(): void {}
    }
    expect(Open.asAsgi()).toBeTypeOf('function')
  })

  it('check nothing for a consumer that declares no events (as before)', () => {
    class Untyped extends AsyncConsumer {
      chat_mesage(_message: ChannelMessage): void {}
    }
    expect(Untyped.asAsgi()).toBeTypeOf('function')
  })
})

describe('the scope a consumer sees', () => {
  it('has what middleware adds, and the declared kwargs', () => {
    class Authed extends AsyncWebsocketConsumer<{
      kwargs: { room_name: string }
      scope: AuthScope
    }> {
      override async connect(): Promise<void> {
        expectTypeOf(this.scope.user.username).toEqualTypeOf<string | undefined>()
        expectTypeOf(this.scope.url_route.kwargs).toEqualTypeOf<{ room_name: string }>()
        expectTypeOf(this.scope.subprotocols).toEqualTypeOf<string[]>()
        expectTypeOf(this.scope).toExtend<WebSocketScope>()
        await this.accept()
      }
    }
    expect(Authed.asAsgi()).toBeTypeOf('function')
  })

  it('is the protocol scope, unchanged, without declarations', () => {
    class Plain extends AsyncWebsocketConsumer {
      override async connect(): Promise<void> {
        expectTypeOf(this.scope).toEqualTypeOf<WebSocketScope>()
        await this.accept()
      }
    }
    expect(Plain.asAsgi()).toBeTypeOf('function')
  })
})

describe('dispatch is unchanged at runtime', () => {
  const app = new URLRouter([path('ws/chat/<str:room_name>/', ChatConsumer.asAsgi())])

  it('delivers typed group messages to their handlers', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const ann = new WebsocketCommunicator(app, '/ws/chat/lobby/')
      const bob = new WebsocketCommunicator(app, '/ws/chat/lobby/')
      expect((await ann.connect())[0]).toBe(true)
      expect((await bob.connect())[0]).toBe(true)
      await ann.sendTo({ textData: 'hello' })
      expect(await bob.receiveFrom()).toBe('hello')
      expect(await ann.receiveFrom()).toBe('hello')
      const layer: EventLayer<ChatEvents> | null = getChannelLayer()
      await layer?.groupSend('chat_lobby', { type: 'chat.user.left', user: 'cy' })
      expect(await ann.receiveFrom()).toBe('cy left')
      await ann.disconnect()
      await bob.disconnect()
    })
  })

  it('still kills the consumer with ValueError on a type it has no handler for', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const ann = new WebsocketCommunicator(app, '/ws/chat/lobby/')
      expect((await ann.connect())[0]).toBe(true)
      // A Django process, or untyped code, may send any type.
      const layer = getChannelLayer() as InMemoryChannelLayer
      await layer.groupSend('chat_lobby', { type: 'chat.typing', user: 'ann' })
      await expect(ann.wait()).rejects.toThrow('No handler for message type chat.typing')
    })
  })

  it('runs typed sync consumers and workers the same way', async () => {
    const done: number[] = []
    class Jobs extends AsyncConsumer<{ events: { 'job.done': { id: number } } }> {
      job_done(event: { id: number }): void {
        done.push(event.id)
      }
    }
    class Relay extends WebsocketConsumer<{ events: { 'job.done': { id: number } } }> {
      override connect(): void {
        void this.accept()
        void this.defer(() => this.channelLayer.send('jobs', { type: 'job.done', id: 7 }))
      }
      job_done(): void {}
    }
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const worker = new ApplicationCommunicator(new ChannelNameRouter({ jobs: Jobs.asAsgi() }), {
        type: 'channel',
        channel: 'jobs',
      })
      const layer = getChannelLayer() as InMemoryChannelLayer
      const relay = new WebsocketCommunicator(Relay.asAsgi(), '/')
      expect((await relay.connect())[0]).toBe(true)
      // The worker reads `jobs` the way runworker does: a message from the channel, dispatched.
      await worker.sendInput(await layer.receive('jobs'))
      await expect.poll(() => done).toEqual([7])
      await relay.disconnect()
      worker.stop()
    })
  })
})
