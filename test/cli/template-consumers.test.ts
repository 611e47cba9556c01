/**
 * The project template's consumers, in-process with Channels' WebsocketCommunicator: the chat
 * hello names the logged-in user (scope.user from AuthMiddlewareStack), messages reach the room
 * group, the echo consumer echoes. The module is loaded the way runserver loads it (esbuild
 * bundle, `channels-ts` resolved to this package's build), and the framework pieces the test uses
 * come from that same build through Node's own `require`, so there is one instance of each.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type * as Framework from '../../src/index.js'
import type * as Testing from '../../src/framework/testing/index.js'
import type { Application } from '../../src/framework/asgi/types.js'
import { frameworkRoot } from '../../src/cli/package-info.js'
import { createBundler, type Bundler } from '../../src/cli/reload/bundler.js'
import { evaluateBundle } from '../../src/cli/reload/evaluate.js'
import { ensureBuilt } from '../e2e/helpers.js'

// The build is what the template's `channels-ts` resolves to.
ensureBuilt()
const nodeRequire = createRequire(join(frameworkRoot(), 'package.json'))
const { AnonymousUser, configureSettings } = nodeRequire('channels-ts') as typeof Framework
const { WebsocketCommunicator } = nodeRequire('channels-ts/testing') as typeof Testing

type ConsumerClass = { asAsgi(): Application }
let ChatConsumer: ConsumerClass
let EchoConsumer: ConsumerClass
let bundler: Bundler

beforeAll(async () => {
  const template = join(frameworkRoot(), 'templates/project')
  bundler = await createBundler('chat/consumers.ts', { projectDir: template })
  const built = await bundler.build()
  if (!built.ok) throw new Error(built.message)
  ;({ ChatConsumer, EchoConsumer } = evaluateBundle(built.code, built.filename) as {
    ChatConsumer: ConsumerClass
    EchoConsumer: ConsumerClass
  })
})
afterAll(() => bundler.dispose())

beforeEach(() => {
  configureSettings({
    CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } },
  })
})
afterEach(() => configureSettings({}))

/** The chat consumer as AuthMiddlewareStack + URLRouter would call it. */
function chatIn(room: string, user: unknown): Application {
  const app = ChatConsumer.asAsgi()
  return (scope, receive, send) =>
    app({ ...scope, user, url_route: { args: [], kwargs: { room_name: room } } }, receive, send)
}

describe('ChatConsumer', () => {
  it('says hello with the logged-in user, and null for an anonymous visitor', async () => {
    const alice = new WebsocketCommunicator(
      chatIn('lobby', { id: 1, username: 'alice' }),
      '/ws/chat/lobby/',
    )
    expect((await alice.connect())[0]).toBe(true)
    expect(await alice.receiveJsonFrom()).toEqual({ user: 'alice' })
    const anonymous = new WebsocketCommunicator(
      chatIn('lobby', new AnonymousUser()),
      '/ws/chat/lobby/',
    )
    expect((await anonymous.connect())[0]).toBe(true)
    expect(await anonymous.receiveJsonFrom()).toEqual({ user: null })

    await alice.sendJsonTo({ message: 'hi all' })
    expect(await anonymous.receiveJsonFrom()).toEqual({ message: 'hi all', user: 'alice' })
    expect(await alice.receiveJsonFrom()).toEqual({ message: 'hi all', user: 'alice' })
    await alice.disconnect()
    await anonymous.disconnect()
  })

  it('keeps rooms apart and ignores frames without a string message', async () => {
    const lobby = new WebsocketCommunicator(chatIn('lobby', new AnonymousUser()), '/ws/chat/lobby/')
    const kitchen = new WebsocketCommunicator(
      chatIn('kitchen', new AnonymousUser()),
      '/ws/chat/kitchen/',
    )
    await lobby.connect()
    await kitchen.connect()
    await lobby.receiveJsonFrom()
    await kitchen.receiveJsonFrom()
    await kitchen.sendJsonTo({ message: 'kitchen only' })
    await kitchen.sendJsonTo({ message: 42 })
    expect(await kitchen.receiveJsonFrom()).toEqual({ message: 'kitchen only', user: null })
    expect(await lobby.receiveNothing()).toBe(true)
    expect(await kitchen.receiveNothing()).toBe(true)
    await lobby.disconnect()
    await kitchen.disconnect()
  })
})

describe('EchoConsumer', () => {
  it('echoes text as text and bytes as bytes', async () => {
    const echo = new WebsocketCommunicator(EchoConsumer.asAsgi(), '/ws/echo/')
    expect((await echo.connect())[0]).toBe(true)
    await echo.sendTo({ textData: 'hello' })
    expect(await echo.receiveFrom()).toBe('hello')
    await echo.sendTo({ bytesData: Buffer.from([1, 2, 3]) })
    expect([...((await echo.receiveFrom()) as Uint8Array)]).toEqual([1, 2, 3])
    await echo.disconnect()
  })
})
