/**
 * The project template's chat log (chat/worker.ts) in-process: with the in-memory layer the
 * server keeps the last 50 messages per room and HistoryConsumer serves them; ChatLogConsumer,
 * run by a Worker, keeps what is sent to `chat-log` and answers history requests on the
 * requester's channel, survives a malformed message (logged, replaced, log kept); without a
 * worker (a full `chat-log`) chatting goes on and the history says it is not kept. Loaded as
 * runserver loads it (esbuild bundle, `channels-ts` resolved to this package's build), with the
 * framework taken from that same build.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type * as Framework from '../../src/index.js'
import type * as Testing from '../../src/framework/testing/index.js'
import type { Application, ChannelMessage } from '../../src/framework/asgi/types.js'
import type { LogRecord } from '../../src/framework/asgi/logging.js'
import type { ChannelLayer } from '../../src/framework/layers/types.js'
import { frameworkRoot } from '../../src/cli/package-info.js'
import { createBundler, type Bundler } from '../../src/cli/reload/bundler.js'
import { evaluateBundle } from '../../src/cli/reload/evaluate.js'
import { ensureBuilt } from '../e2e/helpers.js'

ensureBuilt()
const nodeRequire = createRequire(join(frameworkRoot(), 'package.json'))
const framework = nodeRequire('channels-ts') as typeof Framework
const { AnonymousUser, ChannelFull, channelLayers, configureSettings, setLogHandler, Worker } =
  framework
const { HttpCommunicator, WebsocketCommunicator } = nodeRequire(
  'channels-ts/testing',
) as typeof Testing

interface ConsumerClass {
  asAsgi(): Application
}
interface Consumers {
  ChatConsumer: ConsumerClass
  HistoryConsumer: ConsumerClass
}
interface WorkerModule {
  ChatLogConsumer: ConsumerClass
  CHAT_LOG_CHANNEL: string
  keepMessage(layer: ChannelLayer, room: string, entry: unknown): Promise<void>
  roomHistory(layer: ChannelLayer, room: string): Promise<unknown[] | null>
}

let bundlers: Bundler[] = []
let consumers: Consumers
let worker: WorkerModule
let records: LogRecord[]
let restoreLogs: () => void

/** Bundle and evaluate a template module (each bundle has its own copy of the chat log). */
async function load(entry: string): Promise<unknown> {
  const bundler = await createBundler(entry, {
    projectDir: join(frameworkRoot(), 'templates/project'),
  })
  bundlers.push(bundler)
  const built = await bundler.build()
  if (!built.ok) throw new Error(built.message)
  return evaluateBundle(built.code, built.filename)
}

beforeAll(async () => {
  consumers = (await load('chat/consumers.ts')) as Consumers
  worker = (await load('chat/worker.ts')) as WorkerModule
})
afterAll(async () => {
  await Promise.all(bundlers.map((b) => b.dispose()))
  bundlers = []
})

beforeEach(() => {
  configureSettings({
    CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } },
  })
  records = []
  const previous = setLogHandler((record) => records.push(record))
  restoreLogs = () => setLogHandler(previous)
})
afterEach(async () => {
  restoreLogs()
  await channelLayers.closeAll()
  configureSettings({})
})

/** A consumer as URLRouter calls it for `/…/<room>/…`. */
function inRoom(consumer: ConsumerClass, room: string): Application {
  const app = consumer.asAsgi()
  return (scope, receive, send) =>
    app(
      { ...scope, user: new AnonymousUser(), url_route: { args: [], kwargs: { room_name: room } } },
      receive,
      send,
    )
}

async function history(room: string): Promise<unknown> {
  const request = new HttpCommunicator(
    inRoom(consumers.HistoryConsumer, room),
    'GET',
    `/chat/${room}/history/`,
  )
  const response = await request.getResponse()
  expect(response.status).toBe(200)
  return JSON.parse(response.body.toString('utf8'))
}

describe('the chat log with the in-memory layer', () => {
  it('is kept by the server: the last 50 messages of each room', async () => {
    // ChatConsumer and HistoryConsumer share the consumers bundle's log, as in runserver.
    const alice = new WebsocketCommunicator(
      inRoom(consumers.ChatConsumer, 'kept'),
      '/ws/chat/kept/',
    )
    expect((await alice.connect())[0]).toBe(true)
    await alice.receiveJsonFrom()
    expect(await history('kept')).toEqual({ messages: [], kept: true })
    for (let i = 1; i <= 51; i++) {
      await alice.sendJsonTo({ message: `m${i}` })
      await alice.receiveJsonFrom()
    }
    const kept = (await history('kept')) as { messages: { message: string }[]; kept: boolean }
    expect(kept.kept).toBe(true)
    expect(kept.messages.map((m) => m.message)).toEqual(
      Array.from({ length: 50 }, (_, i) => `m${i + 2}`),
    )
    expect(kept.messages[0]).toEqual({ user: null, message: 'm2' })
    expect(await history('other')).toEqual({ messages: [], kept: true })
    await alice.disconnect()
  })
})

describe('ChatLogConsumer under a Worker', () => {
  it('keeps chat.log messages and answers chat.history on the reply channel', async () => {
    const layer = channelLayers.get()!
    const running = new Worker({
      application: worker.ChatLogConsumer.asAsgi(),
      channels: [worker.CHAT_LOG_CHANNEL],
      channelLayer: layer,
    })
    const done = running.run()
    const send = (message: ChannelMessage) => layer.send(worker.CHAT_LOG_CHANNEL, message)
    await send({ type: 'chat.log', room: 'lobby', user: 'django', message: 'one' })
    await send({ type: 'chat.log', room: 'lobby', user: null, message: 'two' })
    await send({ type: 'chat.log', room: 5, user: null, message: 'malformed' })
    await send({ type: 'chat.log', room: 'kitchen', user: null, message: 'elsewhere' })
    const reply = await layer.newChannel()
    await send({ type: 'chat.history', room: 'lobby', reply_channel: reply })
    expect(await layer.receive(reply)).toEqual({
      type: 'chat.history.reply',
      messages: [
        { user: 'django', message: 'one' },
        { user: null, message: 'two' },
      ],
    })
    // The malformed one: logged, and the next message went to a fresh instance.
    expect(records.map((r) => r.message)).toEqual([
      "Exception inside application: chat.log: 'room' is not a string",
    ])
    running.stop()
    await done
  })
})

describe('without a worker', () => {
  /** A layer (not the in-memory one) whose chat-log is full, as when nobody takes from it. */
  const fullLayer = {
    extensions: [],
    send: (channel: string) => Promise.reject(new ChannelFull(channel)),
    newChannel: () => Promise.resolve('specific.test!reply'),
  } as unknown as ChannelLayer

  it('keepMessage warns once and never fails; roomHistory says nothing is kept', async () => {
    await worker.keepMessage(fullLayer, 'lobby', { user: null, message: 'a' })
    await worker.keepMessage(fullLayer, 'lobby', { user: null, message: 'b' })
    expect(records.map((r) => [r.level, r.message])).toEqual([
      [
        'warn',
        'chat-log is full: is a worker running (channels runworker chat-log)? Chat messages are not kept until it takes them.',
      ],
    ])
    expect(await worker.roomHistory(fullLayer, 'lobby')).toBeNull()
  })

  it('keepMessage logs any other failure instead of rejecting', async () => {
    const broken = { ...fullLayer, send: () => Promise.reject(new Error('down')) }
    await expect(
      worker.keepMessage(broken as ChannelLayer, 'lobby', { user: null, message: 'a' }),
    ).resolves.toBeUndefined()
    await vi.waitFor(() =>
      expect(records.map((r) => r.message)).toEqual(['Could not send a message to chat-log']),
    )
  })
})
