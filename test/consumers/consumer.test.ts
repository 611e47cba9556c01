import { describe, expect, it } from 'vitest'
import { CancelledError, StopConsumer, ValueError } from '../../src/asgi/errors.js'
import type { ChannelMessage } from '../../src/asgi/types.js'
import { AsyncConsumer, SyncConsumer } from '../../src/consumers/consumer.js'
import { getChannelLayer } from '../../src/layers/registry.js'
import type { InMemoryChannelLayer } from '../../src/layers/in-memory.js'
import { overrideSettings } from '../../src/settings/index.js'
import { ApplicationCommunicator } from '../../src/testing/communicator.js'

const IN_MEMORY = { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } }
const CHANNEL_SCOPE = { type: 'channel', channel: 'test' } as const

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

describe('dispatch', () => {
  class Consumer extends AsyncConsumer {
    seen: string[] = []
    chat_message(message: ChannelMessage): void {
      this.seen.push(String(message.text))
    }
    _private(): void {
      this.seen.push('private')
    }
  }

  it('maps type to handler by replacing dots with underscores', () => {
    const consumer = new Consumer()
    consumer.dispatch({ type: 'chat.message', text: 'a' })
    consumer.dispatch({ type: 'chat_message', text: 'b' })
    expect(consumer.seen).toEqual(['a', 'b'])
  })

  it('returns no promise for a handler that returns synchronously', () => {
    expect(new Consumer().dispatch({ type: 'chat.message' })).toBeUndefined()
  })

  it('rejects a message without a type', () => {
    const consumer = new Consumer()
    expect(() => consumer.dispatch({} as ChannelMessage)).toThrow(
      new ValueError("Incoming message has no 'type' attribute"),
    )
    expect(() => consumer.dispatch(null as unknown as ChannelMessage)).toThrow(ValueError)
  })

  it('rejects a non-string type with a TypeError', () => {
    expect(() => new Consumer().dispatch({ type: 42 } as unknown as ChannelMessage)).toThrow(
      TypeError,
    )
  })

  it.each(['_private', '.private'])('blocks the leading-underscore type %s', (type) => {
    const consumer = new Consumer()
    expect(() => consumer.dispatch({ type })).toThrow(
      'Malformed type in message (leading underscore)',
    )
    expect(consumer.seen).toEqual([])
  })

  it('raises ValueError when there is no handler', () => {
    expect(() => new Consumer().dispatch({ type: 'chat.missing' })).toThrow(
      new ValueError('No handler for message type chat.missing'),
    )
  })

  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'channelLayerAlias', 'seen'])(
    'finds no handler for %s (not a method, or an Object.prototype member)',
    (type) => {
      expect(() => new Consumer().dispatch({ type })).toThrow(`No handler for message type ${type}`)
    },
  )
})

describe('asAsgi', () => {
  class Kw extends AsyncConsumer {
    greeting = 'hello'
    static instances: Kw[] = []
    constructor() {
      super()
      Kw.instances.push(this)
    }
    async channel_receive(): Promise<void> {
      throw new StopConsumer()
    }
  }

  it('builds one instance per call with the init kwargs assigned', async () => {
    const app = Kw.asAsgi({ greeting: 'bonjour' })
    expect(app.consumerClass).toBe(Kw)
    expect(app.consumerInitKwargs).toEqual({ greeting: 'bonjour' })
    expect(app.name).toBe('Kw')
    Kw.instances = []
    for (let i = 0; i < 2; i++) {
      const communicator = new ApplicationCommunicator(app, CHANNEL_SCOPE)
      await communicator.sendInput({ type: 'channel.receive' })
      await communicator.wait()
    }
    expect(Kw.instances).toHaveLength(2)
    expect(Kw.instances[0]).not.toBe(Kw.instances[1])
    expect(Kw.instances.map((c) => c.greeting)).toEqual(['bonjour', 'bonjour'])
    expect(Kw.instances[0]!.scope).toEqual(CHANNEL_SCOPE)
  })

  it('defaults consumerInitKwargs to an empty object', () => {
    expect(Kw.asAsgi().consumerInitKwargs).toEqual({})
  })
})

describe('the dispatch loop', () => {
  it('runs handlers one at a time, in arrival order, queueing what arrives meanwhile', async () => {
    const log: string[] = []
    let running = 0
    let maxRunning = 0
    const gate = deferred()
    class Slow extends AsyncConsumer {
      async work(message: ChannelMessage): Promise<void> {
        running++
        maxRunning = Math.max(maxRunning, running)
        log.push(`start ${String(message.n)}`)
        if (message.n === 1) await gate.promise
        log.push(`end ${String(message.n)}`)
        running--
        if (message.n === 3) throw new StopConsumer()
      }
    }
    const communicator = new ApplicationCommunicator(Slow.asAsgi(), CHANNEL_SCOPE)
    await communicator.sendInput({ type: 'work', n: 1 })
    await communicator.sendInput({ type: 'work', n: 2 })
    await communicator.sendInput({ type: 'work', n: 3 })
    await expect.poll(() => log).toEqual(['start 1'])
    gate.resolve()
    await communicator.wait()
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3'])
    expect(maxRunning).toBe(1)
  })

  it('ends cleanly on StopConsumer and propagates any other error', async () => {
    class Stopper extends AsyncConsumer {
      stop(): void {
        throw new StopConsumer()
      }
      boom(): void {
        throw new RangeError('boom')
      }
    }
    const clean = new ApplicationCommunicator(Stopper.asAsgi(), CHANNEL_SCOPE)
    await clean.sendInput({ type: 'stop' })
    await expect(clean.wait()).resolves.toBeUndefined()

    const failing = new ApplicationCommunicator(Stopper.asAsgi(), CHANNEL_SCOPE)
    await failing.sendInput({ type: 'boom' })
    await expect(failing.wait()).rejects.toThrow(new RangeError('boom'))
  })

  it('dies with ValueError on a message it has no handler for', async () => {
    const communicator = new ApplicationCommunicator(AsyncConsumer.asAsgi(), CHANNEL_SCOPE)
    await communicator.sendInput({ type: 'nobody.home' })
    await expect(communicator.wait()).rejects.toThrow('No handler for message type nobody.home')
  })

  it('ends with CancelledError when its client receive is cancelled', async () => {
    const communicator = new ApplicationCommunicator(AsyncConsumer.asAsgi(), CHANNEL_SCOPE)
    expect(await communicator.receiveNothing(10)).toBe(true)
    communicator.stop()
    await expect(communicator.receiveOutput(50)).rejects.toBeInstanceOf(CancelledError)
    await expect(communicator.sendInput({ type: 'x' })).rejects.toBeInstanceOf(CancelledError)
  })

  it('dispatches channel-layer messages and aborts its layer receive on exit, losing nothing', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const names: string[] = []
      class Layered extends AsyncConsumer {
        hello(message: ChannelMessage): void {
          names.push(this.channelName)
          names.push(String(message.who))
        }
        bye(): void {
          throw new StopConsumer()
        }
      }
      const layer = getChannelLayer() as InMemoryChannelLayer
      const run = new ApplicationCommunicator(Layered.asAsgi(), CHANNEL_SCOPE)
      await run.receiveNothing(10)
      await expect.poll(() => layer.channels.size).toBe(1)
      const channel = [...layer.channels.keys()][0]!
      await layer.send(channel, { type: 'hello', who: 'layer' })
      await expect.poll(() => names).toEqual([channel, 'layer'])
      await run.sendInput({ type: 'bye' })
      await run.wait()
      // The aborted receive left no waiter behind: a later message stays in the channel.
      await layer.send(channel, { type: 'hello', who: 'late' })
      await expect(layer.receive(channel)).resolves.toEqual({ type: 'hello', who: 'late' })
    })
  })
})

describe('SyncConsumer', () => {
  it('queues sends in order and awaits them after the handler returns', async () => {
    class Sync extends SyncConsumer {
      ping(): void {
        this.send({ type: 'http.response.start', status: 200 })
        this.defer(() => new Promise((resolve) => setImmediate(resolve)))
        this.send({ type: 'http.response.body', body: Buffer.from('x') })
      }
    }
    const communicator = new ApplicationCommunicator(Sync.asAsgi(), CHANNEL_SCOPE)
    await communicator.sendInput({ type: 'ping' })
    expect(await communicator.receiveOutput()).toMatchObject({ type: 'http.response.start' })
    expect(await communicator.receiveOutput()).toMatchObject({ type: 'http.response.body' })
    communicator.stop()
  })

  it('surfaces a failed queued send as the consumer error, skipping what was queued after it', async () => {
    let ranAfter = false
    class Sync extends SyncConsumer {
      ping(): void {
        this.defer(() => Promise.reject(new RangeError('send failed')))
        this.defer(() => (ranAfter = true))
      }
    }
    const communicator = new ApplicationCommunicator(Sync.asAsgi(), CHANNEL_SCOPE)
    await communicator.sendInput({ type: 'ping' })
    await expect(communicator.wait()).rejects.toThrow('send failed')
    expect(ranAfter).toBe(false)
  })
})
