/**
 * The fast paths give the results of the plain ones: every scenario here runs once with the fast
 * paths off (the reference) and once with them on, and both runs must agree with each other and
 * with the expected result. Each scenario also names the fast entry points its fast run goes
 * through, so a fast run that silently took the plain path fails too.
 */
import { describe, expect, it, vi } from 'vitest'
import { StopConsumer } from '../../../src/framework/asgi/errors.js'
import {
  fastPathsEnabled,
  receiveSourceOf,
  setFastPaths,
  SETTLED,
} from '../../../src/framework/asgi/fast-path.js'
import type { LogRecord } from '../../../src/framework/asgi/logging.js'
import type { Application, ChannelMessage, Scope } from '../../../src/framework/asgi/types.js'
import { AsyncConsumer } from '../../../src/framework/consumers/consumer.js'
import { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import { channelLayers } from '../../../src/framework/layers/registry.js'
import type { ChannelLayerConfig, LayerReceiver } from '../../../src/framework/layers/types.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { AppConnection, type ServerContext } from '../../../src/server/connection.js'
import { ReceiveQueue } from '../../../src/server/receive-queue.js'
import { recordLogs } from '../../helpers/with-server.js'

/** The fast entry points: the queue's ReceiveSource, the layer's receiveInto, the claim. */
type Entry = 'sink' | 'layer' | 'claim'

interface Run<T> {
  result: T
  used: Entry[]
  logs: string[]
}

/** A scenario; `logs` are the records logged so far in this run. */
type Scenario<T> = (logs: readonly LogRecord[]) => Promise<T>

async function runWith<T>(fast: boolean, scenario: Scenario<T>): Promise<Run<T>> {
  const spies: [Entry, { mock: { calls: unknown[] }; mockRestore(): void }][] = [
    ['sink', vi.spyOn(ReceiveQueue.prototype, 'receiveInto')],
    ['layer', vi.spyOn(InMemoryChannelLayer.prototype, 'receiveInto')],
    ['claim', vi.spyOn(ReceiveQueue.prototype, 'claimCompletion')],
  ]
  const logs = recordLogs()
  const previous = setFastPaths(fast)
  try {
    const result = await scenario(logs.records)
    const used = spies.filter(([, spy]) => spy.mock.calls.length > 0).map(([entry]) => entry)
    return { result, used, logs: logs.records.map(logLine) }
  } finally {
    setFastPaths(previous)
    logs.restore()
    for (const [, spy] of spies) spy.mockRestore()
  }
}

function logLine(record: LogRecord): string {
  return `${record.level} ${record.logger}: ${record.message}`
}

/**
 * Run `scenario` plain, then fast: both give `expected` and log the same lines (except where a
 * reader throws: the plain reader's error reaches its own catch, the fast one's is logged, and
 * the scenario counts both).
 */
function contract<T>(
  name: string,
  uses: Entry[],
  scenario: Scenario<T>,
  expected: T,
  options: { readerThrows?: boolean } = {},
): void {
  it(name, async () => {
    const plain = await runWith(false, scenario)
    const fast = await runWith(true, scenario)
    expect(plain.result).toEqual(expected)
    expect(fast.result).toEqual(plain.result)
    if (options.readerThrows !== true) expect(fast.logs).toEqual(plain.logs)
    expect(plain.used).toEqual([])
    expect(fast.used).toEqual(uses)
  })
}

/** Errors reported: caught by a plain reader, or logged by the hand-over batch. */
function reported(caught: number, logs: readonly LogRecord[]): number {
  return caught + logs.filter((record) => record.message.includes(' threw')).length
}

/** Let every pending microtask and hand-over run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)
}

// ---- the receive queue, read as the consumer loop reads it --------------------------------------

/**
 * One receive on `queue`, made as the consumer loop makes it: through the ReceiveSource its
 * `receive` carries (fast), else by awaiting `receive()` (plain).
 */
function receiveOnce(queue: ReceiveQueue<number>): Promise<string> {
  const source = receiveSourceOf<number>(queue.receive)
  if (source === null) {
    return queue.receive().then((event) => `event ${event}`, describeError)
  }
  return new Promise((resolve) => {
    try {
      source.receiveInto({
        receiveEvent: (event) => resolve(`event ${event}`),
        receiveError: (error) => resolve(describeError(error)),
      })
    } catch (error) {
      resolve(describeError(error))
    }
  })
}

const CANCELLED = 'CancelledError: Application instance was cancelled'
const CONCURRENT = 'TypeError: receive() called again before the previous receive() resolved'

describe('the receive queue: ReceiveSource vs receive()', () => {
  contract(
    'events arrive in order, queued or awaited',
    ['sink'],
    async () => {
      const queue = new ReceiveQueue<number>()
      queue.push(1)
      queue.push(2)
      const got = [await receiveOnce(queue), await receiveOnce(queue)]
      const waiting = receiveOnce(queue)
      queue.push(3)
      queue.push(4)
      got.push(await waiting, await receiveOnce(queue))
      return { got, left: queue.size }
    },
    { got: ['event 1', 'event 2', 'event 3', 'event 4'], left: 0 },
  )

  contract(
    'cancel fails the pending receive and every later one with CancelledError',
    ['sink'],
    async () => {
      const queue = new ReceiveQueue<number>()
      const pending = receiveOnce(queue)
      queue.cancel()
      const got = [await pending, await receiveOnce(queue)]
      queue.push(5)
      return { got, left: queue.size }
    },
    { got: [CANCELLED, CANCELLED], left: 0 },
  )

  contract(
    'a second concurrent receive fails, and the first still gets the event',
    ['sink'],
    async () => {
      const queue = new ReceiveQueue<number>()
      const first = receiveOnce(queue)
      const second = await receiveOnce(queue)
      queue.push(7)
      return [second, await first]
    },
    [CONCURRENT, 'event 7'],
  )

  contract(
    'a reader that throws keeps no other queue from its events',
    ['sink'],
    async (logs) => {
      const bad = new ReceiveQueue<number>()
      const good = new ReceiveQueue<number>()
      let caught = 0
      const fail = (event: number): never => {
        throw new Error(`reader bug at ${event}`)
      }
      const source = receiveSourceOf<number>(bad.receive)
      if (source === null)
        void bad
          .receive()
          .then(fail)
          .catch(() => caught++)
      else source.receiveInto({ receiveEvent: fail, receiveError: () => {} })
      const got = receiveOnce(good)
      bad.push(1)
      good.push(2)
      const outcome = await got
      await settle()
      return { outcome, reported: reported(caught, logs) }
    },
    { outcome: 'event 2', reported: 1 },
    { readerThrows: true },
  )
})

// ---- consumers served as the server serves them ------------------------------------------------

const SCOPE = { type: 'channel', channel: 'test' } as unknown as Scope

/** The server's connection without a protocol: records what the app sends and how it ended. */
class Connection extends AppConnection<ChannelMessage> {
  readonly sent: string[] = []
  ended = 'running'

  constructor() {
    super({ lifespanState: null } as unknown as ServerContext)
  }

  start(app: Application): void {
    this.run(app, SCOPE)
  }

  label(): string {
    return 'test connection'
  }

  protected handleSend(message: unknown): Promise<void> {
    this.sent.push(String((message as { text?: unknown }).text))
    // As the server does for an event it handles at once.
    return SETTLED
  }

  protected onAppError(error: unknown): void {
    this.ended = `failed: ${describeError(error)}`
  }

  protected onRouteNotFound(): void {
    this.ended = 'route not found'
  }

  protected onAppReturn(): void {
    this.ended = 'returned'
  }

  protected check(): void {}

  inspect(): never {
    throw new Error('not inspected here')
  }

  closeByServer(): boolean {
    return false
  }

  shutdown(): void {}
}

/** Run `body` with `layer` as the default channel layer (none when null). */
async function withLayer<T>(layer: InMemoryChannelLayer | null, body: () => Promise<T>) {
  const layers: Record<string, ChannelLayerConfig> =
    layer === null ? {} : { default: { BACKEND: 'InMemoryChannelLayer' } }
  return overrideSettings({ CHANNEL_LAYERS: layers }, async () => {
    const previous = channelLayers.set('default', layer)
    try {
      return await body()
    } finally {
      channelLayers.set('default', previous)
    }
  })
}

/** A consumer class that logs every message it handles to `log`, as `me` for group messages. */
function recordingConsumer(log: string[], me = '') {
  return class Recording extends AsyncConsumer {
    quick(message: ChannelMessage): void {
      log.push(`quick ${String(message.n)}`)
    }

    async slow(message: ChannelMessage): Promise<void> {
      log.push(`slow ${String(message.n)}`)
      await new Promise((resolve) => setImmediate(resolve))
      log.push(`slow ${String(message.n)} done`)
    }

    sends(message: ChannelMessage): Promise<void> {
      log.push(`sends ${String(message.n)}`)
      return this.send({ type: 'websocket.send', text: String(message.n) })
    }

    async join(): Promise<void> {
      await this.channelLayer.groupAdd('room', this.channelName)
    }

    async room_message(message: ChannelMessage): Promise<void> {
      log.push(`${me} ${String(message.n)}`)
      await this.send({ type: 'websocket.send', text: String(message.n) })
    }

    boom(): void {
      throw new Error('handler bug')
    }

    bye(): void {
      throw new StopConsumer()
    }
  }
}

describe('a consumer served by the server: fast paths vs plain awaits', () => {
  contract(
    'handles client events in order, one at a time, and reports a normal end',
    ['sink', 'claim'],
    () =>
      withLayer(null, async () => {
        const log: string[] = []
        const connection = new Connection()
        connection.start(recordingConsumer(log).asAsgi())
        connection.push({ type: 'quick', n: 1 })
        connection.push({ type: 'slow', n: 2 })
        connection.push({ type: 'sends', n: 3 })
        await settle()
        connection.push({ type: 'quick', n: 4 })
        connection.push({ type: 'bye' })
        connection.push({ type: 'quick', n: 5 })
        await settle()
        return { log, sent: connection.sent, ended: connection.ended }
      }),
    {
      log: ['quick 1', 'slow 2', 'slow 2 done', 'sends 3', 'quick 4'],
      sent: ['3'],
      ended: 'returned',
    },
  )

  contract(
    'reports a handler failure',
    ['sink', 'claim'],
    () =>
      withLayer(null, async () => {
        const connection = new Connection()
        connection.start(recordingConsumer([]).asAsgi())
        connection.push({ type: 'boom' })
        await settle()
        return { ended: connection.ended, done: connection.appDone }
      }),
    { ended: 'failed: Error: handler bug', done: true },
  )

  contract(
    'a cancelled consumer ends quietly',
    ['sink', 'claim'],
    () =>
      withLayer(null, async () => {
        const log: string[] = []
        const connection = new Connection()
        connection.start(recordingConsumer(log).asAsgi())
        await settle()
        connection.cancel()
        connection.push({ type: 'quick', n: 1 })
        await settle()
        return { log, ended: connection.ended, done: connection.appDone }
      }),
    { log: [], ended: 'running', done: true },
  )

  contract(
    'a consumer that fails before its first receive is reported like any failure',
    ['claim'],
    async () => {
      class Unnamed extends InMemoryChannelLayer {
        override newChannelNow(): string {
          throw new TypeError('no names today')
        }
      }
      return withLayer(new Unnamed(), async () => {
        const connection = new Connection()
        connection.start(recordingConsumer([]).asAsgi())
        await settle()
        return connection.ended
      })
    },
    'failed: TypeError: no names today',
  )

  contract(
    'takes layer and client messages in arrival order, one at a time',
    ['sink', 'layer', 'claim'],
    () => {
      const layer = new InMemoryChannelLayer()
      return withLayer(layer, async () => {
        const log: string[] = []
        const connection = new Connection()
        connection.start(recordingConsumer(log).asAsgi())
        await settle()
        const channel = [...layer.channels.keys()][0]!
        connection.push({ type: 'slow', n: 1 })
        await layer.send(channel, { type: 'quick', n: 2 })
        connection.push({ type: 'quick', n: 3 })
        await layer.send(channel, { type: 'sends', n: 4 })
        await layer.send(channel, { type: 'quick', n: 5 })
        await settle()
        connection.push({ type: 'bye' })
        await settle()
        // Nothing is left waiting on the channel once the consumer ended.
        return {
          log,
          sent: connection.sent,
          ended: connection.ended,
          channels: layer.channels.size,
        }
      })
    },
    {
      log: ['slow 1', 'slow 1 done', 'quick 2', 'quick 3', 'sends 4', 'quick 5'],
      sent: ['4'],
      ended: 'returned',
      channels: 0,
    },
  )

  contract(
    'a group send reaches every member, in membership order, message after message',
    ['sink', 'layer', 'claim'],
    () => {
      const layer = new InMemoryChannelLayer()
      return withLayer(layer, async () => {
        const log: string[] = []
        const members: Connection[] = []
        for (const me of ['a', 'b', 'c']) {
          const member = new Connection()
          member.start(recordingConsumer(log, me).asAsgi())
          member.push({ type: 'join' })
          members.push(member)
          await settle()
        }
        for (let n = 1; n <= 3; n++) void layer.groupSend('room', { type: 'room.message', n })
        await settle()
        const names = [...layer.groups.get('room')!.keys()]
        return {
          log,
          sent: members.map((member) => member.sent),
          named: names.map((name) => /^specific\.\.inmemory![a-zA-Z]{12}$/.test(name)),
        }
      })
    },
    {
      log: ['a 1', 'b 1', 'c 1', 'a 2', 'b 2', 'c 2', 'a 3', 'b 3', 'c 3'],
      sent: [
        ['1', '2', '3'],
        ['1', '2', '3'],
        ['1', '2', '3'],
      ],
      named: [true, true, true],
    },
  )
})

// ---- the layer: receiveInto vs receive() -------------------------------------------------------

/**
 * A receiver on `channel` that takes messages one at a time, as the consumer loop does: through
 * `receiveInto` (fast), else `receive()` with an AbortSignal (plain). `cancel` disarms it.
 */
function layerReader(
  layer: InMemoryChannelLayer,
  channel: string,
  onMessage: (message: ChannelMessage) => void,
  onError: (error: unknown) => void = () => {},
): { cancel(): void } {
  if (fastPathsEnabled()) {
    const receiver: LayerReceiver = {
      layerMessage(message) {
        onMessage(message)
        layer.receiveInto(channel, receiver)
      },
      layerError: onError,
    }
    layer.receiveInto(channel, receiver)
    return { cancel: () => layer.cancelReceive(channel, receiver) }
  }
  const abort = new AbortController()
  const next = (): void => {
    layer.receive(channel, { signal: abort.signal }).then(
      (message) => {
        try {
          onMessage(message)
        } catch (error) {
          // Like a throwing receiveInto receiver: reported, and not re-armed.
          onError(error)
          return
        }
        if (!abort.signal.aborted) next()
      },
      () => {},
    )
  }
  next()
  return { cancel: () => abort.abort() }
}

describe('the in-memory layer: receiveInto vs receive()', () => {
  contract(
    'a cancelled receiver loses no message and gets none sent after the cancel',
    ['layer'],
    async () => {
      const layer = new InMemoryChannelLayer()
      const got: string[] = []
      const reader = layerReader(layer, 'c', (message) => got.push(message.type))
      const first = layer.send('c', { type: 'first' })
      // Plain: `first` is handed over already (its promise resolved). Fast: it is taken but not
      // handed over yet, and goes back to the head of the channel.
      reader.cancel()
      await first
      await layer.send('c', { type: 'second' })
      await settle()
      const left: string[] = []
      while ((layer.channels.get('c')?.size ?? 0) > 0) left.push((await layer.receive('c')).type)
      return { inOrder: [...got, ...left], gotAfterCancel: got.includes('second') }
    },
    { inOrder: ['first', 'second'], gotAfterCancel: false },
  )

  contract(
    'a receiver that throws keeps no other member of a group from its message',
    ['layer'],
    async (logs) => {
      const layer = new InMemoryChannelLayer()
      const got: string[] = []
      let caught = 0
      for (const name of ['a', 'b', 'c']) {
        layerReader(
          layer,
          name,
          (message) => {
            if (name === 'b') throw new Error('receiver bug')
            got.push(`${name} ${message.type}`)
          },
          () => caught++,
        )
        await layer.groupAdd('g', name)
      }
      await layer.groupSend('g', { type: 'one' })
      await layer.groupSend('g', { type: 'two' })
      await settle()
      return { got, reported: reported(caught, logs) }
    },
    { got: ['a one', 'c one', 'a two', 'c two'], reported: 1 },
    { readerThrows: true },
  )
})
