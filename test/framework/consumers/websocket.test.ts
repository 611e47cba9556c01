import { describe, expect, it } from 'vitest'
import {
  AcceptConnection,
  AsgiProtocolError,
  DenyConnection,
  InvalidChannelLayerError,
  ValueError,
} from '../../../src/framework/asgi/errors.js'
import type { WebSocketSendEvents } from '../../../src/framework/asgi/types.js'
import {
  AsyncWebsocketConsumer,
  WebsocketConsumer,
} from '../../../src/framework/consumers/websocket.js'
import type { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import { getChannelLayer } from '../../../src/framework/layers/registry.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { WebsocketCommunicator } from '../../../src/framework/testing/websocket-communicator.js'

const IN_MEMORY = { BACKEND: 'channels.layers.InMemoryChannelLayer' }
const W000 = Buffer.from('w\0\0\0', 'latin1')

describe('test_websocket_consumer / test_async_websocket_consumer', () => {
  function echoConsumers(results: Record<string, unknown>) {
    class Sync extends WebsocketConsumer {
      override connect(): void {
        results.connected = true
        void this.accept()
      }
      override receive(textData?: string, bytesData?: Uint8Array): void {
        results.received = [textData, bytesData]
        void this.send({ textData, bytesData })
      }
      override disconnect(code: number): void {
        results.disconnected = code
      }
    }
    class Async extends AsyncWebsocketConsumer {
      override async connect(): Promise<void> {
        results.connected = true
        await this.accept()
      }
      override async receive(textData?: string, bytesData?: Uint8Array): Promise<void> {
        results.received = [textData, bytesData]
        await this.send({ textData, bytesData })
      }
      override async disconnect(code: number): Promise<void> {
        results.disconnected = code
      }
    }
    return { sync: Sync, async: Async }
  }

  it.each(['sync', 'async'] as const)(
    '%s: connects, echoes text and bytes, disconnects',
    async (flavour) => {
      const results: Record<string, unknown> = {}
      const app = echoConsumers(results)[flavour].asAsgi()
      const communicator = new WebsocketCommunicator(app, '/testws/')
      const [connected] = await communicator.connect()
      expect(connected).toBe(true)
      expect(results.connected).toBe(true)
      await communicator.sendTo({ textData: 'hello' })
      expect(await communicator.receiveFrom()).toBe('hello')
      expect(results.received).toEqual(['hello', undefined])
      await communicator.sendTo({ bytesData: W000 })
      expect(await communicator.receiveFrom()).toEqual(W000)
      expect(results.received).toEqual([undefined, W000])
      await communicator.disconnect(4001)
      expect(results.disconnected).toBe(4001)
    },
  )
})

describe('test_websocket_consumer_subprotocol', () => {
  class Sync extends WebsocketConsumer {
    override connect(): void {
      if (JSON.stringify(this.scope.subprotocols) !== '["subprotocol1","subprotocol2"]')
        throw new Error('bad scope')
      void this.accept('subprotocol2')
    }
  }
  class Async extends AsyncWebsocketConsumer {
    override async connect(): Promise<void> {
      if (JSON.stringify(this.scope.subprotocols) !== '["subprotocol1","subprotocol2"]')
        throw new Error('bad scope')
      await this.accept('subprotocol2')
    }
  }
  it.each([
    ['sync', Sync],
    ['async', Async],
  ] as const)('%s: passes subprotocols through and returns the chosen one', async (_, Consumer) => {
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/testws/', {
      subprotocols: ['subprotocol1', 'subprotocol2'],
    })
    expect(await communicator.connect()).toEqual([true, 'subprotocol2'])
  })
})

describe('test_websocket_consumer_groups', () => {
  it.each(['sync', 'async'] as const)(
    '%s: joins on connect, leaves on disconnect',
    async (flavour) => {
      const results: Record<string, unknown> = {}
      class Sync extends WebsocketConsumer {
        override groups = ['chat']
        override receive(textData?: string, bytesData?: Uint8Array): void {
          results.received = [textData, bytesData]
          void this.send({ textData, bytesData })
        }
      }
      class Async extends AsyncWebsocketConsumer {
        override groups = ['chat']
        override async receive(textData?: string, bytesData?: Uint8Array): Promise<void> {
          results.received = [textData, bytesData]
          await this.send({ textData, bytesData })
        }
      }
      const Consumer = flavour === 'sync' ? Sync : Async
      await overrideSettings({ CHANNEL_LAYERS: { default: IN_MEMORY } }, async () => {
        const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/testws/')
        await communicator.connect()
        const layer = getChannelLayer() as InMemoryChannelLayer
        await layer.groupSend('chat', { type: 'websocket.receive', text: 'hello' })
        expect(await communicator.receiveFrom()).toBe('hello')
        expect(results.received).toEqual(['hello', undefined])
        await communicator.disconnect()
        expect(layer.groups.size).toBe(0)
      })
    },
  )

  it('raises InvalidChannelLayerError when groups are set without a layer', async () => {
    class Grouped extends AsyncWebsocketConsumer {
      override groups = ['chat']
    }
    await overrideSettings({ CHANNEL_LAYERS: {} }, async () => {
      const communicator = new WebsocketCommunicator(Grouped.asAsgi(), '/testws/')
      const failure = communicator.connect()
      await expect(failure).rejects.toThrow(InvalidChannelLayerError)
      await expect(failure).rejects.toThrow("BACKEND is unconfigured or doesn't support groups")
    })
  })

  it('surfaces the layer TypeError for an invalid group name from groupAdd', async () => {
    await overrideSettings({ CHANNEL_LAYERS: { default: IN_MEMORY } }, async () => {
      const communicator = new WebsocketCommunicator(
        AsyncWebsocketConsumer.asAsgi({ groups: ['not a valid group!'] }),
        '/testws/',
      )
      await expect(communicator.connect()).rejects.toThrow(TypeError)
    })
  })
})

describe('test_async_websocket_consumer_specific_channel_layer', () => {
  it('uses the layer of channelLayerAlias', async () => {
    const results: Record<string, unknown> = {}
    class Consumer extends AsyncWebsocketConsumer {
      override channelLayerAlias = 'testlayer'
      override async receive(textData?: string, bytesData?: Uint8Array): Promise<void> {
        results.received = [textData, bytesData]
        await this.send({ textData, bytesData })
      }
    }
    await overrideSettings({ CHANNEL_LAYERS: { testlayer: IN_MEMORY } }, async () => {
      const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/testws/')
      await communicator.connect()
      expect(getChannelLayer()).toBeNull()
      const layer = getChannelLayer('testlayer') as InMemoryChannelLayer
      expect(layer).not.toBeNull()
      const channelName = [...layer.channels.keys()][0]!
      await layer.send(channelName, { type: 'websocket.receive', text: 'hello' })
      expect(await communicator.receiveFrom()).toBe('hello')
      expect(results.received).toEqual(['hello', undefined])
      await communicator.disconnect()
    })
  })
})

describe('test_block_underscored_type_function_call / test_block_leading_dot_type_function_call', () => {
  it.each(['_my_private_handler', '.my_private_handler'])('refuses %s', async (type) => {
    class Consumer extends AsyncWebsocketConsumer {
      override channelLayerAlias = 'testlayer'
      async _my_private_handler(): Promise<void> {
        await this.send({ textData: 'should never be called' })
      }
    }
    await overrideSettings({ CHANNEL_LAYERS: { testlayer: IN_MEMORY } }, async () => {
      const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/testws/')
      await communicator.connect()
      const layer = getChannelLayer('testlayer') as InMemoryChannelLayer
      const channelName = [...layer.channels.keys()][0]!
      await layer.send(channelName, { type, text: 'hello' })
      const failure = communicator.receiveFrom()
      await expect(failure).rejects.toThrow(ValueError)
      await expect(failure).rejects.toThrow('Malformed type in message (leading underscore)')
    })
  })
})

describe('test_accept_headers', () => {
  class Sync extends WebsocketConsumer {
    override connect(): void {
      void this.accept(null, [[Buffer.from('foo'), Buffer.from('bar')]])
    }
  }
  class Async extends AsyncWebsocketConsumer {
    override async connect(): Promise<void> {
      await this.accept(undefined, [['foo', 'bar']])
    }
  }
  it.each([
    ['sync', Sync],
    ['async', Async],
  ] as const)('%s: exposes accept headers as responseHeaders (as bytes)', async (_, Consumer) => {
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/testws/', {
      specVersion: '2.3',
    })
    const [connected] = await communicator.connect()
    expect(connected).toBe(true)
    expect(communicator.responseHeaders).toEqual([[Buffer.from('foo'), Buffer.from('bar')]])
  })

  it('rejects a header that is neither string nor bytes', async () => {
    class Bad extends AsyncWebsocketConsumer {
      override async connect(): Promise<void> {
        await this.accept(null, [['foo', 42 as unknown as string]])
      }
    }
    const communicator = new WebsocketCommunicator(Bad.asAsgi(), '/testws/')
    await expect(communicator.connect()).rejects.toThrow(
      'Header value must be a string or Uint8Array, got a number',
    )
  })
})

describe('test_close_reason', () => {
  class Sync extends WebsocketConsumer {
    override connect(): void {
      void this.accept()
      void this.close(4007, 'test reason')
    }
  }
  class Async extends AsyncWebsocketConsumer {
    override async connect(): Promise<void> {
      await this.accept()
      await this.close(4007, 'test reason')
    }
  }
  it.each([
    ['sync', Sync],
    ['async', Async],
  ] as const)('%s: sends the code and reason', async (_, Consumer) => {
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/testws/', {
      specVersion: '2.3',
    })
    await communicator.connect()
    expect(await communicator.receiveOutput()).toEqual({
      type: 'websocket.close',
      code: 4007,
      reason: 'test reason',
    })
  })

  it('omits the code for undefined/true and the reason when empty', async () => {
    class Closer extends AsyncWebsocketConsumer {
      override async receive(textData?: string): Promise<void> {
        if (textData === 'true') await this.close(true, '')
        else await this.close()
      }
    }
    for (const text of ['true', 'none']) {
      const communicator = new WebsocketCommunicator(Closer.asAsgi(), '/testws/')
      await communicator.connect()
      await communicator.sendTo({ textData: text })
      expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close' })
      communicator.stop()
    }
  })
})

describe('test_websocket_receive_with_none_text', () => {
  it('treats {text: null, bytes} as bytes, bytes-only as bytes, text as text', async () => {
    class Consumer extends WebsocketConsumer {
      override receive(textData?: string, bytesData?: Uint8Array): void {
        if (textData) void this.send({ textData: `Received text: ${textData}` })
        else if (bytesData)
          void this.send({ textData: `Received bytes of length: ${bytesData.length}` })
      }
    }
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/testws/')
    const [connected] = await communicator.connect()
    expect(connected).toBe(true)
    await communicator.sendInput({
      type: 'websocket.receive',
      text: null,
      bytes: Buffer.from('test data'),
    })
    expect(await communicator.receiveOutput()).toEqual({
      type: 'websocket.send',
      text: 'Received bytes of length: 9',
    })
    await communicator.sendInput({ type: 'websocket.receive', bytes: Buffer.from('more data') })
    expect(await communicator.receiveOutput()).toEqual({
      type: 'websocket.send',
      text: 'Received bytes of length: 9',
    })
    await communicator.sendInput({ type: 'websocket.receive', text: 'Hello, world!' })
    expect(await communicator.receiveOutput()).toEqual({
      type: 'websocket.send',
      text: 'Received text: Hello, world!',
    })
    await communicator.disconnect()
  })

  it('passes an empty string as text, not bytes', async () => {
    const seen: unknown[] = []
    class Consumer extends AsyncWebsocketConsumer {
      override receive(textData?: string, bytesData?: Uint8Array): void {
        seen.push([textData, bytesData])
      }
    }
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/testws/')
    await communicator.connect()
    await communicator.sendTo({ textData: '' })
    await communicator.disconnect()
    expect(seen).toEqual([['', undefined]])
  })
})

describe('connect outcomes', () => {
  it('AcceptConnection raised in connect() accepts', async () => {
    class Consumer extends AsyncWebsocketConsumer {
      override connect(): void {
        throw new AcceptConnection()
      }
    }
    expect(await new WebsocketCommunicator(Consumer.asAsgi(), '/').connect()).toEqual([true, null])
  })

  it('DenyConnection raised in connect() closes (the server turns it into a 403)', async () => {
    class Consumer extends AsyncWebsocketConsumer {
      override async connect(): Promise<void> {
        throw new DenyConnection()
      }
    }
    expect(await new WebsocketCommunicator(Consumer.asAsgi(), '/').connect()).toEqual([false, 1000])
  })

  it('close(code) before accept reports that code', async () => {
    class Consumer extends WebsocketConsumer {
      override connect(): void {
        void this.close(4403)
      }
    }
    expect(await new WebsocketCommunicator(Consumer.asAsgi(), '/').connect()).toEqual([false, 4403])
  })

  it('other errors in connect() propagate', async () => {
    class Consumer extends AsyncWebsocketConsumer {
      override connect(): void {
        throw new RangeError('nope')
      }
    }
    await expect(new WebsocketCommunicator(Consumer.asAsgi(), '/').connect()).rejects.toThrow(
      'nope',
    )
  })
})

describe('send()', () => {
  it('prefers text when both are given and can close after sending', async () => {
    class Consumer extends AsyncWebsocketConsumer {
      override async receive(): Promise<void> {
        await this.send({ textData: 'text', bytesData: Buffer.from('bytes'), close: 4000 })
      }
    }
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/')
    await communicator.connect()
    await communicator.sendTo({ textData: 'go' })
    expect(await communicator.receiveFrom()).toBe('text')
    expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close', code: 4000 })
    communicator.stop()
  })

  it('close: true closes without a code (sync flavour keeps the order)', async () => {
    class Consumer extends WebsocketConsumer {
      override receive(): void {
        void this.send({ bytesData: Buffer.from('bye'), close: true })
      }
    }
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/')
    await communicator.connect()
    await communicator.sendTo({ textData: 'go' })
    expect(await communicator.receiveFrom()).toEqual(Buffer.from('bye'))
    expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close' })
    communicator.stop()
  })

  it.each(['sync', 'async'] as const)(
    '%s: throws ValueError with neither text nor bytes',
    async (flavour) => {
      class Sync extends WebsocketConsumer {
        override receive(): void {
          void this.send({})
        }
      }
      class Async extends AsyncWebsocketConsumer {
        override async receive(): Promise<void> {
          await this.send({ textData: null })
        }
      }
      const Consumer = flavour === 'sync' ? Sync : Async
      const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/')
      await communicator.connect()
      await communicator.sendTo({ textData: 'go' })
      const failure = communicator.receiveFrom()
      await expect(failure).rejects.toThrow(ValueError)
      await expect(failure).rejects.toThrow('You must pass one of bytes_data or text_data')
    },
  )
})

// The communicator checks what a consumer sends as the server does (websocket-protocol.ts): the
// same errors in tests as in production.
describe('the WebSocket protocol, checked by the communicator', () => {
  it.each(['sync', 'async'] as const)(
    '%s: sending before accept is an AsgiProtocolError',
    async (flavour) => {
      class Sync extends WebsocketConsumer {
        override connect(): void {
          void this.send({ textData: 'too early' })
        }
      }
      class Async extends AsyncWebsocketConsumer {
        override async connect(): Promise<void> {
          await this.send({ textData: 'too early' })
        }
      }
      const Consumer = flavour === 'sync' ? Sync : Async
      const failure = new WebsocketCommunicator(Consumer.asAsgi(), '/').connect()
      await expect(failure).rejects.toThrow(AsgiProtocolError)
      await expect(failure).rejects.toThrow(
        "Socket has not been accepted, so cannot send over it: expected ASGI message 'websocket.accept' or 'websocket.close', but got 'websocket.send'.",
      )
    },
  )

  it('rejects a misspelled event type from a plain-JS consumer', async () => {
    class Consumer extends AsyncWebsocketConsumer {
      override async connect(): Promise<void> {
        await this.accept()
        await this.send({ type: 'websocket.sned', text: 'x' } as unknown as WebSocketSendEvents)
      }
    }
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/')
    await communicator.connect()
    await expect(communicator.receiveFrom()).rejects.toThrow(
      "Expected ASGI message 'websocket.send' or 'websocket.close', but got 'websocket.sned'.",
    )
  })

  it('rejects a second accept and a websocket.send without a payload', async () => {
    class Consumer extends AsyncWebsocketConsumer {
      override async receive(textData?: string): Promise<void> {
        if (textData === 'accept') await this.accept()
        else await this.send({ type: 'websocket.send' } as unknown as WebSocketSendEvents)
      }
    }
    for (const [text, message] of [
      ['accept', "but got 'websocket.accept'."],
      ['empty', "Invalid 'websocket.send' message: it contains neither 'bytes' nor 'text'."],
    ] as const) {
      const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/')
      await communicator.connect()
      await communicator.sendTo({ textData: text })
      await expect(communicator.receiveOutput()).rejects.toThrow(message)
    }
  })

  it('rejects an invalid close code, a subprotocol not offered and a message without a type', async () => {
    class Consumer extends AsyncWebsocketConsumer {
      override async connect(): Promise<void> {
        const { path } = this.scope
        if (path === '/sub') await this.accept('chat')
        else if (path === '/typeless') await this.send({ type: 5 } as never)
        else await this.accept()
      }
      override async receive(): Promise<void> {
        await this.close(1006)
      }
    }
    const closing = new WebsocketCommunicator(Consumer.asAsgi(), '/')
    await closing.connect()
    await closing.sendTo({ textData: 'go' })
    await expect(closing.receiveOutput()).rejects.toThrow(
      'Invalid WebSocket close code 1006: expected 1000-1003, 1007-1014 or 3000-4999.',
    )
    await expect(new WebsocketCommunicator(Consumer.asAsgi(), '/sub').connect()).rejects.toThrow(
      `Subprotocol 'chat' was not offered by the client (offered: []).`,
    )
    const offered = new WebsocketCommunicator(Consumer.asAsgi(), '/sub', {
      subprotocols: ['chat'],
    })
    expect(await offered.connect()).toEqual([true, 'chat'])
    await expect(
      new WebsocketCommunicator(Consumer.asAsgi(), '/typeless').connect(),
    ).rejects.toThrow(AsgiProtocolError)
  })

  it('a close before accept is a rejection whatever its code', async () => {
    class Consumer extends AsyncWebsocketConsumer {
      override async connect(): Promise<void> {
        await this.close(1006)
      }
    }
    expect(await new WebsocketCommunicator(Consumer.asAsgi(), '/').connect()).toEqual([false, 1006])
  })

  it('drops sends after close and after the client disconnected', async () => {
    class Consumer extends AsyncWebsocketConsumer {
      override async receive(): Promise<void> {
        await this.close()
        await this.send({ textData: 'after close' })
      }
      override async disconnect(): Promise<void> {
        await this.send({ textData: 'after disconnect' })
      }
    }
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/')
    await communicator.connect()
    await communicator.sendTo({ textData: 'go' })
    expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close' })
    await communicator.disconnect()
    expect(await communicator.receiveNothing(10)).toBe(true)
  })

  it.each([
    ['sync', false],
    ['async', true],
  ])('ends with the error a %s disconnect() throws', async (_name, isAsync) => {
    const boom = new Error('disconnect failed')
    class Consumer extends AsyncWebsocketConsumer {
      override disconnect(): void | Promise<void> {
        if (isAsync) return Promise.reject(boom)
        throw boom
      }
    }
    const communicator = new WebsocketCommunicator(Consumer.asAsgi(), '/')
    await communicator.connect()
    await communicator.sendInput({ type: 'websocket.disconnect', code: 1000 })
    await expect(communicator.wait()).rejects.toBe(boom)
  })
})
