import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  setLogHandler,
  type LogHandler,
  type LogRecord,
} from '../../../src/framework/asgi/logging.js'
import { AsyncWebsocketConsumer } from '../../../src/framework/consumers/index.js'
import type { AuthUser } from '../../../src/framework/middleware/auth-user.js'
import { TokenAuthMiddleware } from '../../../src/framework/middleware/token-auth.js'
import { HttpCommunicator, WebsocketCommunicator } from '../../../src/framework/testing/index.js'

const carol: AuthUser = { id: 3, username: 'carol' }
const authenticate = async (token: string) => {
  if (token === 'boom') throw new Error('db down')
  return token === 'secret-token' ? carol : null
}

class Echo extends AsyncWebsocketConsumer {
  override async connect(): Promise<void> {
    const offered = this.scope.subprotocols
    await this.accept(offered[0] ?? null)
    await this.send({
      textData: `${(this.scope.user as AuthUser).username} ${JSON.stringify(offered)}`,
    })
  }
}

let records: LogRecord[]
let previousHandler: LogHandler
beforeEach(() => {
  records = []
  previousHandler = setLogHandler((r) => records.push(r))
})
afterEach(() => {
  setLogHandler(previousHandler)
})

describe('TokenAuthMiddleware', () => {
  const app = new TokenAuthMiddleware(Echo.asAsgi(), { authenticate })

  it('reads ?token= from the query string', async () => {
    const communicator = new WebsocketCommunicator(app, '/ws/?token=secret-token')
    expect(await communicator.connect()).toEqual([true, null])
    expect(await communicator.receiveFrom()).toBe('carol []')
    await communicator.disconnect()
  })

  it('reads a token.<value> subprotocol and hides it from the consumer', async () => {
    const communicator = new WebsocketCommunicator(app, '/ws/', {
      subprotocols: ['chat', 'token.secret-token'],
    })
    expect(await communicator.connect()).toEqual([true, 'chat'])
    expect(await communicator.receiveFrom()).toBe('carol ["chat"]')
    await communicator.disconnect()
  })

  it.each([
    ['/ws/?token=wrong', [], 'invalid token'],
    ['/ws/', ['token.wrong'], 'invalid token'],
    ['/ws/', [], 'no token'],
    ['/ws/?token=', ['token.'], 'no token'],
    ['/ws/?token=boom', [], 'authenticate() threw'],
  ])('rejects %s %j with a close (403) and logs %s', async (path, subprotocols, why) => {
    const communicator = new WebsocketCommunicator(app, path, { subprotocols })
    expect(await communicator.connect()).toEqual([false, 1000])
    await communicator.wait()
    expect(records.some((r) => r.logger === 'channels.security' && r.message.includes(why))).toBe(
      true,
    )
  })

  it('answers HTTP with 401 on a bad token and passes a good one through', async () => {
    const httpApp = new TokenAuthMiddleware(
      async (scope: { user?: unknown }, _receive, send) => {
        await send({ type: 'http.response.start', status: 200, headers: [] })
        await send({
          type: 'http.response.body',
          body: Buffer.from((scope.user as AuthUser).username!),
        })
      },
      { authenticate },
    )
    const denied = await new HttpCommunicator(httpApp, 'GET', '/api/?token=nope').getResponse()
    expect(denied.status).toBe(401)
    const ok = await new HttpCommunicator(httpApp, 'GET', '/api/?token=secret-token').getResponse()
    expect(ok.body.toString()).toBe('carol')
  })

  it('with required: false, connections without a token pass untouched', async () => {
    const optional = new TokenAuthMiddleware(
      async (scope, receive, send) => {
        await receive()
        await send({ type: 'websocket.accept' })
        await send({ type: 'websocket.send', text: String('user' in scope) })
      },
      { authenticate, required: false },
    )
    const communicator = new WebsocketCommunicator(optional, '/ws/')
    await communicator.connect()
    expect(await communicator.receiveFrom()).toBe('false')
    await communicator.disconnect()
  })

  it('honours a custom query parameter and subprotocol prefix', async () => {
    const custom = new TokenAuthMiddleware(Echo.asAsgi(), {
      authenticate,
      queryParam: 'jwt',
      subprotocolPrefix: 'bearer-',
    })
    const byQuery = new WebsocketCommunicator(custom, '/ws/?jwt=secret-token')
    expect((await byQuery.connect())[0]).toBe(true)
    await byQuery.disconnect()
    const byProtocol = new WebsocketCommunicator(custom, '/ws/', {
      subprotocols: ['bearer-secret-token'],
    })
    expect((await byProtocol.connect())[0]).toBe(true)
    await byProtocol.disconnect()
  })

  it('needs an authenticate function', () => {
    expect(() => new TokenAuthMiddleware(Echo.asAsgi(), {} as never)).toThrow(TypeError)
  })
})
