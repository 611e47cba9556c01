import { describe, expect, it } from 'vitest'
import type { Application, ChannelMessage } from '../../../src/framework/asgi/types.js'
import { AsyncHttpConsumer } from '../../../src/framework/consumers/http.js'
import type { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import { getChannelLayer } from '../../../src/framework/layers/registry.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { HttpCommunicator } from '../../../src/framework/testing/http-communicator.js'

const IN_MEMORY = { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } }

class JsonValue extends AsyncHttpConsumer {
  override async handle(body: Uint8Array): Promise<void> {
    const data = JSON.parse(Buffer.from(body).toString('utf8')) as { value: unknown }
    await this.sendResponse(200, JSON.stringify({ value: data.value }), {
      headers: { 'Content-Type': 'application/json' },
    })
  }
}

describe('test_async_http_consumer', () => {
  it('answers a POST with status, headers (as bytes) and body', async () => {
    const communicator = new HttpCommunicator(JsonValue.asAsgi(), 'POST', '/test/', {
      body: JSON.stringify({ value: 42, anything: false }),
    })
    const response = await communicator.getResponse()
    expect(response.body).toEqual(Buffer.from('{"value":42}'))
    expect(response.status).toBe(200)
    expect(response.headers).toEqual([
      [Buffer.from('Content-Type'), Buffer.from('application/json')],
    ])
  })

  it('joins a body sent in chunks', async () => {
    const seen: string[] = []
    class Collect extends AsyncHttpConsumer {
      override async handle(body: Uint8Array): Promise<void> {
        seen.push(Buffer.from(body).toString())
        await this.sendResponse(204, '')
      }
    }
    const communicator = new HttpCommunicator(Collect.asAsgi(), 'POST', '/')
    await communicator.sendInput({ type: 'http.request', body: Buffer.from('ab'), more_body: true })
    await communicator.sendInput({
      type: 'http.request',
      body: Buffer.from('cd'),
      more_body: false,
    })
    expect(await communicator.receiveOutput()).toEqual({
      type: 'http.response.start',
      status: 204,
      headers: [],
    })
    expect(seen).toEqual(['abcd'])
  })
})

describe('test_error', () => {
  it('an exception in handle() propagates, and disconnect() still runs', async () => {
    let disconnected = 0
    class Failing extends AsyncHttpConsumer {
      override async handle(): Promise<void> {
        throw new Error('Error correctly raised')
      }
      override disconnect(): void {
        disconnected++
      }
    }
    const communicator = new HttpCommunicator(Failing.asAsgi(), 'GET', '/')
    await expect(communicator.getResponse(50)).rejects.toThrow('Error correctly raised')
    expect(disconnected).toBe(1)
  })

  it('a consumer without handle() fails with a clear message', async () => {
    const communicator = new HttpCommunicator(AsyncHttpConsumer.asAsgi(), 'GET', '/')
    await expect(communicator.getResponse()).rejects.toThrow(
      'Subclasses of AsyncHttpConsumer must provide a handle() method.',
    )
  })

  it.each([
    ['a number body', () => 42],
    ['a null body', () => null],
  ])('sendBody rejects %s with a TypeError', async (_, makeBody) => {
    class Bad extends AsyncHttpConsumer {
      override async handle(): Promise<void> {
        await this.sendHeaders()
        await this.sendBody(makeBody() as unknown as string)
      }
    }
    const communicator = new HttpCommunicator(Bad.asAsgi(), 'GET', '/')
    await expect(communicator.getResponse()).rejects.toThrow(
      /Response body must be a string or Uint8Array/,
    )
  })
})

describe('sendHeaders', () => {
  it.each([
    ['a number', 5, 'Headers must be [name, value] pairs or a record, got a number'],
    ['a string', 'x', 'Headers must be [name, value] pairs or a record, got a string'],
    ['a list of strings', ['ab'], 'Each header must be a [name, value] pair, got a string'],
    ['a triple', [['a', 'b', 'c']], 'Each header must be a [name, value] pair, got an array'],
    ['a numeric value', { 'X-N': 1 }, 'Header value must be a string or Uint8Array, got a number'],
  ])('rejects %s with a TypeError', async (_, headers, message) => {
    class Bad extends AsyncHttpConsumer {
      override async handle(): Promise<void> {
        await this.sendHeaders({ headers: headers as never })
      }
    }
    const failure = new HttpCommunicator(Bad.asAsgi(), 'GET', '/').getResponse()
    await expect(failure).rejects.toBeInstanceOf(TypeError)
    await expect(failure).rejects.toThrow(message)
  })

  it('defaults to status 200 and no headers', async () => {
    class Plain extends AsyncHttpConsumer {
      override async handle(): Promise<void> {
        await this.sendHeaders()
        await this.sendBody('ok')
      }
    }
    expect(await new HttpCommunicator(Plain, 'GET', '/').getResponse()).toEqual({
      status: 200,
      headers: [],
      body: Buffer.from('ok'),
    })
  })
})

describe('test_per_scope_consumers', () => {
  it('asAsgi() builds a distinct instance per request', async () => {
    let counter = 0
    class Numbered extends AsyncHttpConsumer {
      readonly id = ++counter
      override async handle(): Promise<void> {
        await this.sendResponse(200, `${this.constructor.name} ${this.id}`, {
          headers: [[Buffer.from('Content-Type'), Buffer.from('text/plain')]],
        })
      }
    }
    const app = Numbered.asAsgi()
    const first = await new HttpCommunicator(app, 'GET', '/test/').getResponse()
    const second = await new HttpCommunicator(app, 'GET', '/test2/').getResponse()
    expect(first.status).toBe(200)
    expect(second.status).toBe(200)
    expect(first.body.toString()).not.toBe(second.body.toString())
  })
})

describe('test_async_http_consumer_future', () => {
  it('works when receive/send are wrapped callables returning promises', async () => {
    class FortyTwo extends AsyncHttpConsumer {
      override async handle(): Promise<void> {
        await this.sendResponse(200, Buffer.from('42'), {
          headers: { 'Content-Type': 'text/plain' },
        })
      }
    }
    const app = FortyTwo.asAsgi()
    const asyncWrapped: Application = (scope, receive, send) =>
      app(
        scope,
        async () => await receive(),
        async (message) => await send(message),
      )
    const thenWrapped: Application = (scope, receive, send) =>
      app(
        scope,
        () => receive().then((m) => m),
        (message) => send(message).then(() => undefined),
      )
    for (const wrapped of [asyncWrapped, thenWrapped]) {
      const response = await new HttpCommunicator(wrapped, 'GET', '/').getResponse()
      expect(response.body).toEqual(Buffer.from('42'))
      expect(response.status).toBe(200)
      expect(response.headers).toEqual([[Buffer.from('Content-Type'), Buffer.from('text/plain')]])
    }
  })
})

describe('long-poll / SSE after handle() returns (channels#1747)', () => {
  class Events extends AsyncHttpConsumer {
    static disconnects = 0
    override async handle(): Promise<void> {
      await this.channelLayer.groupAdd('news', this.channelName)
      await this.sendHeaders({ headers: [['Content-Type', 'text/event-stream']] })
      await this.sendBody('data: hello\n\n', { moreBody: true })
    }
    async news_item(message: ChannelMessage): Promise<void> {
      await this.sendBody(`data: ${String(message.text)}\n\n`, { moreBody: !message.last })
    }
    override async disconnect(): Promise<void> {
      Events.disconnects++
      await this.channelLayer.groupDiscard('news', this.channelName)
    }
  }

  it('keeps the consumer running until a layer event finishes the body', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      Events.disconnects = 0
      const layer = getChannelLayer() as InMemoryChannelLayer
      const communicator = new HttpCommunicator(Events.asAsgi(), 'GET', '/events/')
      await communicator.sendRequest()
      expect(await communicator.receiveOutput()).toMatchObject({
        type: 'http.response.start',
        status: 200,
      })
      expect(await communicator.receiveOutput()).toEqual({
        type: 'http.response.body',
        body: Buffer.from('data: hello\n\n'),
        more_body: true,
      })
      await layer.groupSend('news', { type: 'news.item', text: 'one' })
      expect(await communicator.receiveOutput()).toMatchObject({
        body: Buffer.from('data: one\n\n'),
        more_body: true,
      })
      expect(Events.disconnects).toBe(0)
      await layer.groupSend('news', { type: 'news.item', text: 'two', last: true })
      expect(await communicator.receiveOutput()).toMatchObject({
        body: Buffer.from('data: two\n\n'),
        more_body: false,
      })
      await communicator.wait()
      expect(Events.disconnects).toBe(1)
      expect(layer.groups.size).toBe(0)
    })
  })

  it('stops on http.disconnect while streaming, running disconnect() once', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      Events.disconnects = 0
      const communicator = new HttpCommunicator(Events.asAsgi(), 'GET', '/events/')
      await communicator.sendRequest()
      await communicator.receiveOutput()
      await communicator.receiveOutput()
      await communicator.sendInput({ type: 'http.disconnect' })
      await communicator.wait()
      expect(Events.disconnects).toBe(1)
      expect((getChannelLayer() as InMemoryChannelLayer).groups.size).toBe(0)
    })
  })

  it('still stops right after handle() when it only sent headers (as in Channels)', async () => {
    class HeadersOnly extends AsyncHttpConsumer {
      override async handle(): Promise<void> {
        await this.sendHeaders({ status: 204 })
      }
    }
    const communicator = new HttpCommunicator(HeadersOnly.asAsgi(), 'GET', '/')
    await communicator.sendRequest()
    await communicator.receiveOutput()
    await expect(communicator.wait()).resolves.toBeUndefined()
  })
})
