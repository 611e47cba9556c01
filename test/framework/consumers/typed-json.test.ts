/**
 * Typed JSON consumers: `AsyncJsonWebsocketConsumer<In, Out, Types>` types what `receiveJson`
 * gets and what `sendJson` takes, and the optional `validateJson` hook checks what a client sent
 * (with any schema library; a hand-written guard here) before `receiveJson` sees it. A refused
 * frame goes to `onDecodeError`. The type-level half is checked by `npm run typecheck`.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  AsyncJsonWebsocketConsumer,
  JsonWebsocketConsumer,
  setLogHandler,
  ValueError,
  type DecodeErrorFrame,
  type LogRecord,
} from '../../../src/index.js'
import { WebsocketCommunicator } from '../../../src/framework/testing/index.js'

/** What the client sends. */
type ChatIn = { kind: 'say'; text: string } | { kind: 'leave' }
/** What the server sends. */
interface ChatOut {
  said: string
  at: number
}

/** A stand-in for a schema library's `parse`: the value typed, or a throw. */
function parseChatIn(content: unknown): ChatIn {
  if (typeof content === 'object' && content !== null && 'kind' in content) {
    if (content.kind === 'leave') return { kind: 'leave' }
    if (content.kind === 'say' && 'text' in content && typeof content.text === 'string') {
      // A parsed value may differ from the input: extra fields are dropped here.
      return { kind: 'say', text: content.text }
    }
  }
  throw new ValueError('not a ChatIn')
}

class Chat extends AsyncJsonWebsocketConsumer<ChatIn, ChatOut> {
  override validateJson(content: unknown): ChatIn {
    return parseChatIn(content)
  }

  override async receiveJson(content: ChatIn): Promise<void> {
    if (content.kind === 'leave') return this.close()
    await this.sendJson({ said: content.text, at: 1 })
  }
}

describe('types', () => {
  it('receiveJson gets In and sendJson takes Out', () => {
    class Typed extends AsyncJsonWebsocketConsumer<ChatIn, ChatOut> {
      override async receiveJson(content: ChatIn): Promise<void> {
        expectTypeOf(content).toEqualTypeOf<ChatIn>()
        await this.sendJson({ said: 'x', at: 1 })
        // @ts-expect-error Out has no `text`, and needs `said` and `at`
        await this.sendJson({ text: 'x' })
      }
    }
    expectTypeOf<Parameters<Typed['sendJson']>[0]>().toEqualTypeOf<ChatOut>()
    expectTypeOf<Parameters<Typed['receiveJson']>[0]>().toEqualTypeOf<ChatIn>()
  })

  it('validateJson must return In (or a promise of it)', () => {
    class Wrong extends AsyncJsonWebsocketConsumer<ChatIn> {
      // @ts-expect-error a number is not a ChatIn
      override validateJson(): number {
        return 1
      }
    }
    class Later extends AsyncJsonWebsocketConsumer<ChatIn> {
      override async validateJson(content: unknown): Promise<ChatIn> {
        return parseChatIn(await Promise.resolve(content))
      }
    }
    expect([Wrong, Later]).toHaveLength(2)
  })

  it('stays unknown in, unknown out without type arguments (as before)', () => {
    class Plain extends AsyncJsonWebsocketConsumer {
      override async receiveJson(content: unknown): Promise<void> {
        await this.sendJson({ anything: content })
      }
    }
    expectTypeOf<Parameters<Plain['receiveJson']>[0]>().toBeUnknown()
    expectTypeOf<Plain['validateJson']>().toEqualTypeOf<
      ((content: unknown) => unknown) | undefined
    >()
  })

  it('takes ConsumerTypes third: kwargs and events', () => {
    class Room extends AsyncJsonWebsocketConsumer<
      ChatIn,
      ChatOut,
      { kwargs: { room_name: string }; events: { 'chat.said': ChatOut } }
    > {
      override async receiveJson(content: ChatIn): Promise<void> {
        if (content.kind === 'leave') return
        const group = this.scope.url_route.kwargs.room_name
        await this.channelLayer.groupSend(group, { type: 'chat.said', said: content.text, at: 2 })
      }
      async chat_said(event: ChatOut): Promise<void> {
        await this.sendJson(event)
      }
    }
    expect(Room.asAsgi()).toBeTypeOf('function')
  })
})

describe('validateJson at runtime', () => {
  it("hands receiveJson the validator's value", async () => {
    const seen: ChatIn[] = []
    class Recording extends Chat {
      override async receiveJson(content: ChatIn): Promise<void> {
        seen.push(content)
        await super.receiveJson(content)
      }
    }
    const communicator = new WebsocketCommunicator(Recording.asAsgi(), '/chat/')
    await communicator.connect()
    await communicator.sendJsonTo({ kind: 'say', text: 'hi', extra: true })
    expect(await communicator.receiveJsonFrom()).toEqual({ said: 'hi', at: 1 })
    expect(seen).toEqual([{ kind: 'say', text: 'hi' }])
    await communicator.sendJsonTo({ kind: 'leave' })
    expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close' })
  })

  it('sends a refused frame to onDecodeError, whose default closes with 1007 and logs at debug', async () => {
    const records: LogRecord[] = []
    const previous = setLogHandler((record) => records.push(record))
    try {
      const communicator = new WebsocketCommunicator(Chat.asAsgi(), '/chat/')
      await communicator.connect()
      await communicator.sendJsonTo({ kind: 'shout' })
      expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close', code: 1007 })
      await communicator.disconnect(1007)
    } finally {
      setLogHandler(previous)
    }
    expect(records).toEqual([
      expect.objectContaining({
        level: 'debug',
        logger: 'channels.consumers',
        message: 'Closing /chat/ with 1007: validateJson refused its content',
        error: new ValueError('not a ChatIn'),
      }),
    ])
  })

  it.each(['sync', 'async'] as const)(
    '%s: gives onDecodeError the frame and its content; a promise from the validator works too',
    async (flavour) => {
      const refused: [unknown, DecodeErrorFrame][] = []
      const received: ChatIn[] = []
      const Base = flavour === 'sync' ? JsonWebsocketConsumer : AsyncJsonWebsocketConsumer
      class Lenient extends Base<ChatIn, { error: string } | { ok: string }> {
        override connect(): void {
          void this.accept()
        }
        override async validateJson(content: unknown): Promise<ChatIn> {
          await Promise.resolve()
          return parseChatIn(content)
        }
        override receiveJson(content: ChatIn): void {
          received.push(content)
          void this.sendJson({ ok: content.kind })
        }
        override onDecodeError(error: unknown, frame: DecodeErrorFrame): void {
          refused.push([error, frame])
          void this.sendJson({ error: 'refused' })
        }
      }
      const communicator = new WebsocketCommunicator(Lenient.asAsgi(), '/chat/')
      await communicator.connect()
      await communicator.sendTo({ textData: '[1]' })
      expect(await communicator.receiveJsonFrom()).toEqual({ error: 'refused' })
      await communicator.sendTo({ textData: 'not json' })
      expect(await communicator.receiveJsonFrom()).toEqual({ error: 'refused' })
      await communicator.sendJsonTo({ kind: 'leave' })
      expect(await communicator.receiveJsonFrom()).toEqual({ ok: 'leave' })
      expect(received).toEqual([{ kind: 'leave' }])
      expect(refused).toEqual([
        [new ValueError('not a ChatIn'), { textData: '[1]', content: [1] }],
        [expect.any(SyntaxError), { textData: 'not json' }],
      ])
      await communicator.disconnect()
    },
  )

  it('runs after an async decodeJson', async () => {
    class SlowDecode extends Chat {
      static override decodeJson(text: string): Promise<unknown> {
        return Promise.resolve(JSON.parse(text) as unknown)
      }
    }
    const communicator = new WebsocketCommunicator(SlowDecode.asAsgi(), '/chat/')
    await communicator.connect()
    await communicator.sendJsonTo({ kind: 'say', text: 'later' })
    expect(await communicator.receiveJsonFrom()).toEqual({ said: 'later', at: 1 })
    await communicator.sendJsonTo({ kind: 'nope' })
    expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close', code: 1007 })
  })
})
