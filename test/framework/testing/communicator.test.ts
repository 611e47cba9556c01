import { AssertionError } from 'node:assert'
import { describe, expect, it } from 'vitest'
import { AsgiProtocolError, CancelledError } from '../../../src/framework/asgi/errors.js'
import type { Application, AsgiSendEvent, Scope } from '../../../src/framework/asgi/types.js'
import { AsyncConsumer } from '../../../src/framework/consumers/consumer.js'
import { WebsocketConsumer } from '../../../src/framework/consumers/websocket.js'
import { path, URLRouter } from '../../../src/framework/routing/index.js'
import {
  ApplicationCommunicator,
  HttpCommunicator,
  TimeoutError,
  WebsocketCommunicator,
} from '../../../src/framework/testing/index.js'

class SimpleHttpApp extends AsyncConsumer {
  async http_request(): Promise<void> {
    const scope = this.scope as Extract<Scope, { type: 'http' }>
    if (scope.path !== '/test/' || scope.method !== 'GET') throw new Error('bad scope')
    if (Buffer.from(scope.query_string).toString() !== 'foo=bar') throw new Error('bad query')
    await this.send({ type: 'http.response.start', status: 200, headers: [] })
    await this.send({ type: 'http.response.body', body: Buffer.from('test response') })
  }
}

class SimpleWebsocketApp extends WebsocketConsumer {
  override connect(): void {
    if (this.scope.path !== '/testws/') throw new Error('bad path')
    void this.accept()
  }
  override receive(textData?: string, bytesData?: Uint8Array): void {
    void this.send({ textData, bytesData })
  }
}

class ErrorWebsocketApp extends WebsocketConsumer {
  override receive(): void {}
}

class KwargsWebSocketApp extends WebsocketConsumer {
  override connect(): void {
    void this.accept()
    void this.send({ textData: this.scope.url_route!.kwargs.message as string })
  }
}

const W000 = Buffer.from('w\0\0\0', 'latin1')

describe('test_http_communicator', () => {
  it('splits path and query string and collects the response', async () => {
    // A consumer class is accepted directly (served with its asAsgi()).
    const communicator = new HttpCommunicator(SimpleHttpApp, 'get', '/test/?foo=bar')
    const response = await communicator.getResponse()
    expect(response.body).toEqual(Buffer.from('test response'))
    expect(response.status).toBe(200)
    expect(response.headers).toEqual([])
  })

  it('asserts the response starts with http.response.start', async () => {
    const app: Application = async (_scope, receive, send) => {
      await receive()
      await send({ type: 'http.response.body', body: Buffer.from('x') })
    }
    await expect(new HttpCommunicator(app, 'GET', '/').getResponse()).rejects.toThrow(
      new AssertionError({
        message: "Expected type 'http.response.start', but was 'http.response.body'",
      }),
    )
  })

  it('concatenates streamed chunks and sends the body once', async () => {
    const requests: unknown[] = []
    const app: Application = async (scope, receive, send) => {
      requests.push(await receive())
      await send({ type: 'http.response.start', status: 201 })
      await send({ type: 'http.response.body', body: Buffer.from('a'), more_body: true })
      await send({ type: 'http.response.body', body: Buffer.from('b') })
    }
    const communicator = new HttpCommunicator(app, 'POST', '/p', {
      body: 'payload',
      headers: [['X-Token', 'abc']],
    })
    expect(communicator.scope).toMatchObject({
      type: 'http',
      method: 'POST',
      path: '/p',
      headers: [[Buffer.from('x-token'), Buffer.from('abc')]],
    })
    const response = await communicator.getResponse()
    await communicator.sendRequest()
    expect(response).toEqual({ status: 201, headers: [], body: Buffer.from('ab') })
    expect(requests).toEqual([
      { type: 'http.request', body: Buffer.from('payload'), more_body: false },
    ])
  })

  it('rejects a non-string path or a bad body with a TypeError', () => {
    expect(() => new HttpCommunicator(SimpleHttpApp, 'GET', 42 as unknown as string)).toThrow(
      TypeError,
    )
    expect(
      () => new HttpCommunicator(SimpleHttpApp, 'GET', '/', { body: 42 as unknown as string }),
    ).toThrow(TypeError)
  })
})

describe('test_websocket_communicator', () => {
  it('connects, round-trips text, bytes and JSON, disconnects', async () => {
    const communicator = new WebsocketCommunicator(SimpleWebsocketApp.asAsgi(), '/testws/')
    const [connected, subprotocol] = await communicator.connect()
    expect(connected).toBe(true)
    expect(subprotocol).toBeNull()
    await communicator.sendTo({ textData: 'hello' })
    expect(await communicator.receiveFrom()).toBe('hello')
    await communicator.sendTo({ bytesData: W000 })
    expect(await communicator.receiveFrom()).toEqual(W000)
    await communicator.sendJsonTo({ hello: 'world' })
    expect(await communicator.receiveJsonFrom()).toEqual({ hello: 'world' })
    await communicator.disconnect()
  })

  it('sendTo asserts exactly one of text or bytes, of the right type', async () => {
    const communicator = new WebsocketCommunicator(SimpleWebsocketApp, '/testws/')
    const exactlyOne = 'You must supply exactly one of text_data or bytes_data'
    await expect(communicator.sendTo({})).rejects.toThrow(exactlyOne)
    await expect(communicator.sendTo({ textData: 'a', bytesData: W000 })).rejects.toThrow(
      exactlyOne,
    )
    await expect(communicator.sendTo({ textData: 1 as unknown as string })).rejects.toThrow(
      'The text_data argument must be a str',
    )
    await expect(communicator.sendTo({ bytesData: 'x' as unknown as Uint8Array })).rejects.toThrow(
      'The bytes_data argument must be bytes',
    )
  })

  it('receiveJsonFrom asserts a text frame', async () => {
    const communicator = new WebsocketCommunicator(SimpleWebsocketApp, '/testws/')
    await communicator.connect()
    await communicator.sendTo({ bytesData: W000 })
    await expect(communicator.receiveJsonFrom()).rejects.toThrow('JSON data is not a text frame')
    await communicator.disconnect()
  })
})

describe('test_websocket_incorrect_read_json', () => {
  it('fails receiveFrom with the exact message when the app closes instead', async () => {
    class Closer extends WebsocketConsumer {
      override connect(): void {
        void this.accept()
        void this.close()
      }
    }
    const communicator = new WebsocketCommunicator(Closer.asAsgi(), '/')
    await communicator.connect()
    const failure = communicator.receiveFrom()
    await expect(failure).rejects.toBeInstanceOf(AssertionError)
    await expect(failure).rejects.toThrow(
      "Expected type 'websocket.send', but was 'websocket.close'",
    )
  })

  // The communicator checks what the app sends as the server does (websocket-protocol.ts), so
  // the app's send() fails with the server's error before receiveFrom() could assert.
  it('reports a misspelled event type from a raw app', async () => {
    const app: Application = async (_scope, receive, send) => {
      await receive()
      await send({ type: 'websocket.accept' })
      await send({ type: 'websocket.sned', text: 'x' } as unknown as AsgiSendEvent)
      await receive()
    }
    const communicator = new WebsocketCommunicator(app, '/')
    await communicator.connect()
    await expect(communicator.receiveFrom()).rejects.toThrow(
      "Expected ASGI message 'websocket.send' or 'websocket.close', but got 'websocket.sned'.",
    )
  })

  it('connect() reports a send before accept', async () => {
    const app: Application = async (_scope, receive, send) => {
      await receive()
      await send({ type: 'websocket.send', text: 'x' })
    }
    await expect(new WebsocketCommunicator(app, '/').connect()).rejects.toThrow(
      "Socket has not been accepted, so cannot send over it: expected ASGI message 'websocket.accept' or 'websocket.close', but got 'websocket.send'.",
    )
  })
})

describe('test_websocket_application', () => {
  it('reaches URLRouter kwargs from the consumer', async () => {
    const application = new URLRouter([path('testws/<str:message>/', KwargsWebSocketApp.asAsgi())])
    const communicator = new WebsocketCommunicator(application, '/testws/test/')
    const [connected, subprotocol] = await communicator.connect()
    expect(connected).toBe(true)
    expect(subprotocol).toBeNull()
    expect(await communicator.receiveFrom()).toBe('test')
    await communicator.disconnect()
  })
})

describe('test_timeout_disconnect', () => {
  it('times out, cancels the app, and disconnect() then reports the cancellation', async () => {
    const communicator = new WebsocketCommunicator(ErrorWebsocketApp.asAsgi(), '/testws/')
    const [connected, subprotocol] = await communicator.connect()
    expect(connected).toBe(true)
    expect(subprotocol).toBeNull()
    await communicator.sendTo({ textData: 'hello' })
    await expect(communicator.receiveFrom(20)).rejects.toBeInstanceOf(TimeoutError)
    await expect(communicator.disconnect()).rejects.toBeInstanceOf(CancelledError)
  })
})

describe('test_connection_scope', () => {
  const scopes: Scope[] = []
  class ConnectionScopeValidator extends WebsocketConsumer {
    override connect(): void {
      scopes.push(this.scope)
      void this.accept()
    }
  }

  it.each([
    [
      'user:pass@example.com:8080/p/a/t/h?query=string#hash',
      'user:pass@example.com:8080/p/a/t/h',
      'query=string',
    ],
    ['wss://user:pass@example.com:8080/p/a/t/h?query=string#hash', '/p/a/t/h', 'query=string'],
    [
      'ws://www.example.com/%E9%A6%96%E9%A1%B5/index.php?foo=%E9%A6%96%E9%A1%B5&spam=eggs',
      '/首页/index.php',
      'foo=%E9%A6%96%E9%A1%B5&spam=eggs',
    ],
  ])('%s', async (url, expectedPath, expectedQuery) => {
    scopes.length = 0
    const communicator = new WebsocketCommunicator(ConnectionScopeValidator, url)
    const [connected] = await communicator.connect()
    expect(connected).toBe(true)
    await communicator.disconnect()
    const scope = scopes[0] as Extract<Scope, { type: 'websocket' }>
    expect(scope.type).toBe('websocket')
    expect(typeof scope.path).toBe('string')
    expect(scope.path).toBe(expectedPath)
    expect(decodeURIComponent(scope.path)).toBe(scope.path)
    expect(scope.query_string).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(scope.query_string).toString()).toBe(expectedQuery)
  })

  it('keeps a malformed percent escape instead of throwing', () => {
    expect(new WebsocketCommunicator(SimpleWebsocketApp, '/a%zzb%E9/').scope.path).toBe(
      '/a%zzb\uFFFD/',
    )
  })

  it('rejects a non-string path with a TypeError', () => {
    expect(
      () => new WebsocketCommunicator(SimpleWebsocketApp, new URL('ws://x/') as unknown as string),
    ).toThrow(new TypeError('Expected str, got a URL'))
  })

  it('builds headers, subprotocols and spec version into the scope', () => {
    const communicator = new WebsocketCommunicator(SimpleWebsocketApp, '/', {
      headers: [
        ['Origin', 'http://example.com'],
        [Buffer.from('Cookie'), Buffer.from('a=b')],
      ],
      subprotocols: ['chat'],
      specVersion: '2.3',
    })
    expect(communicator.scope).toMatchObject({
      headers: [
        [Buffer.from('origin'), Buffer.from('http://example.com')],
        [Buffer.from('cookie'), Buffer.from('a=b')],
      ],
      subprotocols: ['chat'],
      asgi: { version: '3.0', spec_version: '2.3' },
    })
  })
})

describe('ApplicationCommunicator', () => {
  const scope: Scope = { type: 'channel', channel: 'test' }

  it('starts the app lazily, on first use', async () => {
    let started = false
    const app: Application = async (_scope, receive) => {
      started = true
      await receive()
    }
    const communicator = new ApplicationCommunicator(app, scope)
    expect(started).toBe(false)
    await communicator.sendInput({ type: 'go' })
    expect(started).toBe(true)
    await communicator.wait()
  })

  it('sendInput and receiveOutput rethrow the app failure', async () => {
    const app: Application = async (_scope, receive) => {
      await receive()
      throw new RangeError('app broke')
    }
    const communicator = new ApplicationCommunicator(app, scope)
    await communicator.sendInput({ type: 'go' })
    // receiveOutput reports the failure as soon as it happens, not at its timeout.
    await expect(communicator.receiveOutput(60_000)).rejects.toThrow('app broke')
    await expect(communicator.sendInput({ type: 'again' })).rejects.toThrow('app broke')
    expect(() => communicator.stop()).toThrow('app broke')
    expect(() => communicator.stop(false)).not.toThrow()
  })

  it('receiveOutput times out, cancelling a running app through its receive()', async () => {
    let seen: unknown
    const app: Application = async (_scope, receive) => {
      try {
        await receive()
      } catch (error) {
        seen = error
        throw error
      }
    }
    const communicator = new ApplicationCommunicator(app, scope)
    const failure = communicator.receiveOutput(10)
    await expect(failure).rejects.toBeInstanceOf(TimeoutError)
    await expect(failure).rejects.toThrow('No output from the application within 10 ms')
    expect(seen).toBeInstanceOf(CancelledError)
    await expect(communicator.sendInput({ type: 'x' })).rejects.toBeInstanceOf(CancelledError)
  })

  it('receiveOutput on timeout reports an error the app raised while unwinding', async () => {
    const app: Application = async (_scope, receive) => {
      try {
        await receive()
      } catch {
        throw new RangeError('cleanup failed')
      }
    }
    await expect(new ApplicationCommunicator(app, scope).receiveOutput(10)).rejects.toThrow(
      'cleanup failed',
    )
  })

  it('receiveOutput times out (without cancelling) when the app already finished', async () => {
    const app: Application = async () => {}
    const communicator = new ApplicationCommunicator(app, scope)
    await communicator.wait()
    await expect(communicator.receiveOutput(10)).rejects.toBeInstanceOf(TimeoutError)
  })

  it('still returns output queued by an app that finished', async () => {
    const app: Application = async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200 })
    }
    const communicator = new ApplicationCommunicator(app, scope)
    await communicator.wait()
    expect(await communicator.receiveOutput()).toEqual({ type: 'http.response.start', status: 200 })
  })

  it('receiveNothing: true on silence, false as soon as output arrives, throws on app failure', async () => {
    let sendLater!: () => void
    const app: Application = async (_scope, receive, send) => {
      const message = await receive()
      if (message.type === 'fail') throw new RangeError('failed meanwhile')
      await new Promise<void>((resolve) => (sendLater = resolve))
      await send({ type: 'lifespan.startup.complete' })
      await receive()
    }
    const communicator = new ApplicationCommunicator(app, scope)
    await communicator.sendInput({ type: 'go' })
    expect(await communicator.receiveNothing(10)).toBe(true)
    const pending = communicator.receiveNothing(60_000)
    sendLater()
    expect(await pending).toBe(false)
    expect(await communicator.receiveNothing()).toBe(false)
    communicator.stop()

    const failing = new ApplicationCommunicator(app, scope)
    const nothing = failing.receiveNothing(60_000)
    await failing.sendInput({ type: 'fail' })
    await expect(nothing).rejects.toThrow('failed meanwhile')
  })

  it('wait() times out by cancelling the app and throwing TimeoutError', async () => {
    const app: Application = async (_scope, receive) => {
      await receive()
    }
    const communicator = new ApplicationCommunicator(app, scope)
    await expect(communicator.wait(10)).rejects.toBeInstanceOf(TimeoutError)
    // A cancelled app counts as finished for wait().
    await expect(communicator.wait()).resolves.toBeUndefined()
  })

  it('gives up on an app that ignores cancellation and counts it cancelled', async () => {
    const app: Application = () => new Promise<void>(() => {})
    const communicator = new ApplicationCommunicator(app, scope)
    await expect(communicator.receiveOutput(10)).rejects.toBeInstanceOf(TimeoutError)
    await expect(communicator.sendInput({ type: 'x' })).rejects.toBeInstanceOf(CancelledError)
  })

  it('refuses an app send that is not an ASGI message', async () => {
    const app: Application = async (_scope, _receive, send) => {
      await send(undefined as unknown as AsgiSendEvent)
    }
    const failure = new ApplicationCommunicator(app, scope).wait()
    await expect(failure).rejects.toBeInstanceOf(AsgiProtocolError)
    await expect(failure).rejects.toThrow(
      "Expected an ASGI message object with a string 'type', but got undefined.",
    )
  })

  it('catches an application that throws synchronously', async () => {
    const app = (() => {
      throw new RangeError('sync throw')
    }) as unknown as Application
    await expect(new ApplicationCommunicator(app, scope).wait()).rejects.toThrow('sync throw')
  })

  it('refuses something that is not an application', () => {
    expect(() => new ApplicationCommunicator({} as unknown as Application, scope)).toThrow(
      'Expected an ASGI application or a consumer class, got an object',
    )
  })

  it('leaves no timer pending after a result', async () => {
    const app: Application = async (_scope, receive, send) => {
      for (;;) {
        await receive()
        await send({ type: 'lifespan.startup.complete' })
      }
    }
    const timers = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const communicator = new ApplicationCommunicator(app, scope)
    const before = timers()
    const output = communicator.receiveOutput(60_000)
    expect(timers()).toBe(before + 1)
    await communicator.sendInput({ type: 'go' })
    await output
    expect(timers()).toBe(before)
    const nothing = communicator.receiveNothing(60_000)
    await communicator.sendInput({ type: 'go' })
    expect(await nothing).toBe(false)
    expect(timers()).toBe(before)
    communicator.stop()
  })
})
