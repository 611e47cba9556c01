import { describe, expect, it } from 'vitest'
import { ValueError } from '../../../src/framework/asgi/errors.js'
import { setLogHandler, type LogRecord } from '../../../src/framework/asgi/logging.js'
import {
  AsyncJsonWebsocketConsumer,
  JsonWebsocketConsumer,
  type DecodeErrorFrame,
} from '../../../src/framework/consumers/json-websocket.js'
import { WebsocketCommunicator } from '../../../src/framework/testing/websocket-communicator.js'

const W000 = Buffer.from('w\0\0\0', 'latin1')

function jsonConsumers(results: Record<string, unknown>) {
  class Sync extends JsonWebsocketConsumer {
    override connect(): void {
      void this.accept()
    }
    override receiveJson(content: unknown): void {
      results.received = content
      void this.sendJson(content)
    }
  }
  class Async extends AsyncJsonWebsocketConsumer {
    override async connect(): Promise<void> {
      await this.accept()
    }
    override async receiveJson(content: unknown): Promise<void> {
      results.received = content
      await this.sendJson(content)
    }
  }
  return { sync: Sync, async: Async }
}

describe('test_json_websocket_consumer / test_async_json_websocket_consumer', () => {
  it.each(['sync', 'async'] as const)('%s: round-trips JSON', async (flavour) => {
    const results: Record<string, unknown> = {}
    const communicator = new WebsocketCommunicator(
      jsonConsumers(results)[flavour].asAsgi(),
      '/testws/',
    )
    const [connected] = await communicator.connect()
    expect(connected).toBe(true)
    await communicator.sendJsonTo({ hello: 'world' })
    expect(await communicator.receiveJsonFrom()).toEqual({ hello: 'world' })
    expect(results.received).toEqual({ hello: 'world' })
    await communicator.disconnect()
  })

  it.each(['sync', 'async'] as const)(
    '%s: strict mode (onDecodeError rethrows) makes bytes kill the app with ValueError',
    async (flavour) => {
      const { sync: SyncBase, async: AsyncBase } = jsonConsumers({})
      class StrictSync extends SyncBase {
        override onDecodeError(error: unknown): void {
          throw error
        }
      }
      class StrictAsync extends AsyncBase {
        override onDecodeError(error: unknown): void {
          throw error
        }
      }
      const Strict = flavour === 'sync' ? StrictSync : StrictAsync
      const communicator = new WebsocketCommunicator(Strict.asAsgi(), '/testws/')
      await communicator.connect()
      await communicator.sendTo({ bytesData: W000 })
      const failure = communicator.wait()
      await expect(failure).rejects.toThrow(ValueError)
      await expect(failure).rejects.toThrow('No text section for incoming WebSocket frame!')
    },
  )
})

describe('bad frames do not crash the consumer (channels#2219)', () => {
  it.each(['sync', 'async'] as const)(
    '%s: a binary frame closes with 1003 by default',
    async (flavour) => {
      const communicator = new WebsocketCommunicator(
        jsonConsumers({})[flavour].asAsgi(),
        '/testws/',
      )
      await communicator.connect()
      await communicator.sendTo({ bytesData: W000 })
      expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close', code: 1003 })
      await communicator.disconnect(1003)
    },
  )

  it.each([
    ['invalid JSON', '{"hello": ', 'SyntaxError'],
    ['an empty text frame', '', 'ValueError'],
  ])('%s closes with 1007 by default, logging at debug level only', async (_, text, errorName) => {
    const records: LogRecord[] = []
    const previous = setLogHandler((record) => records.push(record))
    try {
      const communicator = new WebsocketCommunicator(jsonConsumers({}).async.asAsgi(), '/testws/')
      await communicator.connect()
      await communicator.sendTo({ textData: text })
      expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close', code: 1007 })
      await communicator.disconnect(1007)
    } finally {
      setLogHandler(previous)
    }
    expect(records).toEqual([
      expect.objectContaining({
        level: 'debug',
        logger: 'channels.consumers',
        message: 'Closing /testws/ with 1007: the frame is not JSON',
        error: expect.objectContaining({ name: errorName }),
      }),
    ])
  })

  it('onDecodeError can reply with an error frame and keep the connection', async () => {
    const errors: [string, DecodeErrorFrame][] = []
    class Lenient extends AsyncJsonWebsocketConsumer {
      override async receiveJson(content: unknown): Promise<void> {
        await this.sendJson({ echo: content })
      }
      override async onDecodeError(error: unknown, frame: DecodeErrorFrame): Promise<void> {
        errors.push([(error as Error).name, frame])
        await this.sendJson({ error: 'bad frame' })
      }
    }
    const communicator = new WebsocketCommunicator(Lenient.asAsgi(), '/testws/')
    await communicator.connect()
    await communicator.sendTo({ textData: 'not json' })
    expect(await communicator.receiveJsonFrom()).toEqual({ error: 'bad frame' })
    await communicator.sendTo({ bytesData: W000 })
    expect(await communicator.receiveJsonFrom()).toEqual({ error: 'bad frame' })
    await communicator.sendJsonTo([1, 2])
    expect(await communicator.receiveJsonFrom()).toEqual({ echo: [1, 2] })
    await communicator.disconnect()
    expect(errors).toEqual([
      ['SyntaxError', { textData: 'not json' }],
      ['ValueError', { bytesData: W000 }],
    ])
  })

  it('errors thrown by receiveJson are not treated as decode errors', async () => {
    class Faulty extends AsyncJsonWebsocketConsumer {
      override receiveJson(): void {
        throw new RangeError('handler bug')
      }
    }
    const communicator = new WebsocketCommunicator(Faulty.asAsgi(), '/testws/')
    await communicator.connect()
    await communicator.sendJsonTo({})
    await expect(communicator.receiveOutput()).rejects.toThrow('handler bug')
  })
})

describe('encodeJson / decodeJson', () => {
  it('are overridable on the class, and decodeJson may be async in the async flavour', async () => {
    class Custom extends AsyncJsonWebsocketConsumer {
      static override async decodeJson(text: string): Promise<unknown> {
        return { wrapped: JSON.parse(text) as unknown }
      }
      static override encodeJson(content: unknown): string {
        return `custom:${JSON.stringify(content)}`
      }
      override async receiveJson(content: unknown): Promise<void> {
        await this.sendJson(content)
      }
    }
    const communicator = new WebsocketCommunicator(Custom.asAsgi(), '/testws/')
    await communicator.connect()
    await communicator.sendJsonTo({ a: 1 })
    expect(await communicator.receiveFrom()).toBe('custom:{"wrapped":{"a":1}}')
    await communicator.disconnect()
  })

  it('an async decodeJson that rejects goes to onDecodeError', async () => {
    class Custom extends AsyncJsonWebsocketConsumer {
      static override async decodeJson(): Promise<unknown> {
        throw new SyntaxError('nope')
      }
    }
    const communicator = new WebsocketCommunicator(Custom.asAsgi(), '/testws/')
    await communicator.connect()
    await communicator.sendTo({ textData: '{}' })
    expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close', code: 1007 })
    communicator.stop()
  })

  it('uses JSON.stringify spacing (compact, unlike Python json.dumps)', () => {
    expect(AsyncJsonWebsocketConsumer.encodeJson({ a: 1, b: [1, 2] })).toBe('{"a":1,"b":[1,2]}')
  })

  it('refuses content JSON cannot encode', () => {
    expect(() => AsyncJsonWebsocketConsumer.encodeJson(undefined)).toThrow(
      new TypeError('Cannot encode undefined as JSON'),
    )
    expect(() => AsyncJsonWebsocketConsumer.encodeJson(() => 1)).toThrow(
      new TypeError('Cannot encode a function as JSON'),
    )
    expect(() => AsyncJsonWebsocketConsumer.encodeJson(1n)).toThrow(TypeError)
  })

  it('sendJson(content, close) closes after the frame', async () => {
    class Closer extends JsonWebsocketConsumer {
      override receiveJson(): void {
        void this.sendJson({ bye: true }, 4000)
      }
    }
    const communicator = new WebsocketCommunicator(Closer.asAsgi(), '/testws/')
    await communicator.connect()
    await communicator.sendJsonTo({})
    expect(await communicator.receiveJsonFrom()).toEqual({ bye: true })
    expect(await communicator.receiveOutput()).toEqual({ type: 'websocket.close', code: 4000 })
    communicator.stop()
  })
})
