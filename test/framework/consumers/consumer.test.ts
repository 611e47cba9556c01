import { describe, expect, it } from 'vitest'
import { CancelledError, StopConsumer, ValueError } from '../../../src/framework/asgi/errors.js'
import type { AsgiSendEvent, ChannelMessage, Send } from '../../../src/framework/asgi/types.js'
import { AsyncConsumer, SyncConsumer } from '../../../src/framework/consumers/consumer.js'
import { channelLayers, getChannelLayer } from '../../../src/framework/layers/registry.js'
import { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import type { ChannelLayer } from '../../../src/framework/layers/types.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { ApplicationCommunicator } from '../../../src/framework/testing/communicator.js'

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

  it('maps type to handler by replacing dots with underscores', async () => {
    const consumer = new Consumer()
    await consumer.dispatch({ type: 'chat.message', text: 'a' })
    await consumer.dispatch({ type: 'chat_message', text: 'b' })
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

describe('the dispatch loop and layers', () => {
  /** An in-memory layer seen through the bare ChannelLayer contract (no receiveInto). */
  function promiseOnly(layer: InMemoryChannelLayer): ChannelLayer {
    return {
      extensions: layer.extensions,
      send: (c, m) => layer.send(c, m),
      receive: (c, o) => layer.receive(c, o),
      newChannel: (p) => layer.newChannel(p),
      groupAdd: (g, c) => layer.groupAdd(g, c),
      groupDiscard: (g, c) => layer.groupDiscard(g, c),
      groupSend: (g, m) => layer.groupSend(g, m),
      flush: () => layer.flush(),
      close: () => layer.close(),
    }
  }

  class Echo extends AsyncConsumer {
    async ping(message: ChannelMessage): Promise<void> {
      await this.send({ type: 'websocket.send', text: String(message.n) })
    }
    bye(): void {
      throw new StopConsumer()
    }
  }

  it("names its channel with a layer subclass's own newChannelNow", async () => {
    class Named extends InMemoryChannelLayer {
      override newChannelNow(): string {
        return 'custom.named!abc'
      }
    }
    class Who extends AsyncConsumer {
      async who(): Promise<void> {
        await this.send({ type: 'websocket.send', text: this.channelName })
      }
    }
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const old = channelLayers.set('default', new Named())
      try {
        const run = new ApplicationCommunicator(Who.asAsgi(), CHANNEL_SCOPE)
        await run.sendInput({ type: 'who' })
        expect(await run.receiveOutput()).toEqual({
          type: 'websocket.send',
          text: 'custom.named!abc',
        })
        run.stop()
      } finally {
        channelLayers.set('default', old)
      }
    })
  })

  it('uses receive() with an AbortSignal on a layer without receiveInto, losing nothing', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const real = new InMemoryChannelLayer()
      const old = channelLayers.set('default', promiseOnly(real))
      try {
        const run = new ApplicationCommunicator(Echo.asAsgi(), CHANNEL_SCOPE)
        await run.receiveNothing(10)
        await expect.poll(() => real.channels.size).toBe(1)
        const channel = [...real.channels.keys()][0]!
        for (let n = 1; n <= 3; n++) await real.send(channel, { type: 'ping', n })
        for (let n = 1; n <= 3; n++) {
          expect(await run.receiveOutput()).toEqual({ type: 'websocket.send', text: String(n) })
        }
        await run.sendInput({ type: 'bye' })
        await run.wait()
        await real.send(channel, { type: 'ping', n: 4 })
        await expect(real.receive(channel)).resolves.toEqual({ type: 'ping', n: 4 })
      } finally {
        channelLayers.set('default', old)
      }
    })
  })

  it('interleaves client and layer messages one at a time, in arrival order', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const log: string[] = []
      const gate = deferred()
      class Mixed extends AsyncConsumer {
        async client(message: ChannelMessage): Promise<void> {
          log.push(`client ${String(message.n)}`)
          if (message.n === 1) await gate.promise
        }
        layer(message: ChannelMessage): void {
          log.push(`layer ${String(message.n)}`)
        }
      }
      const layer = getChannelLayer() as InMemoryChannelLayer
      const run = new ApplicationCommunicator(Mixed.asAsgi(), CHANNEL_SCOPE)
      await run.receiveNothing(10)
      const channel = [...layer.channels.keys()][0]!
      await run.sendInput({ type: 'client', n: 1 })
      await expect.poll(() => log).toEqual(['client 1'])
      // While client 1 runs: a layer message, then a client message, then two more layer ones.
      await layer.send(channel, { type: 'layer', n: 1 })
      await run.sendInput({ type: 'client', n: 2 })
      await layer.send(channel, { type: 'layer', n: 2 })
      await layer.send(channel, { type: 'layer', n: 3 })
      expect(log).toEqual(['client 1'])
      gate.resolve()
      await expect
        .poll(() => log)
        .toEqual(['client 1', 'layer 1', 'client 2', 'layer 2', 'layer 3'])
      run.stop()
    })
  })

  it('ends with CancelledError when its layer closes under it', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const layer = getChannelLayer() as InMemoryChannelLayer
      const run = new ApplicationCommunicator(Echo.asAsgi(), CHANNEL_SCOPE)
      await run.receiveNothing(10)
      await expect.poll(() => layer.channels.size).toBe(1)
      await layer.close()
      await expect(run.wait()).rejects.toBeInstanceOf(CancelledError)
    })
  })

  it('fails with the error of a layer whose newChannel rejects', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const broken = promiseOnly(new InMemoryChannelLayer())
      broken.newChannel = () => Promise.reject(new RangeError('no channels today'))
      const old = channelLayers.set('default', broken)
      try {
        const run = new ApplicationCommunicator(Echo.asAsgi(), CHANNEL_SCOPE)
        await expect(run.wait(100)).rejects.toThrow('no channels today')
      } finally {
        channelLayers.set('default', old)
      }
    })
  })

  it('loses no layer message that arrives as the consumer ends', async () => {
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      const layer = getChannelLayer() as InMemoryChannelLayer
      const run = new ApplicationCommunicator(Echo.asAsgi(), CHANNEL_SCOPE)
      await run.receiveNothing(10)
      const channel = [...layer.channels.keys()][0]!
      // Both arrive together: 'bye' (client) is dispatched first and ends the consumer, so the
      // layer message handed over meanwhile goes back to the channel.
      await run.sendInput({ type: 'bye' })
      await layer.send(channel, { type: 'ping', n: 9 })
      await run.wait()
      await expect(layer.receive(channel)).resolves.toEqual({ type: 'ping', n: 9 })
    })
  })
})

describe('send hooks', () => {
  it('admitSend runs on every event: false drops it, a throw rejects the send', async () => {
    const seen: string[] = []
    class Picky extends AsyncConsumer {
      protected override admitSend(message: AsgiSendEvent): boolean {
        seen.push(message.type)
        if (message.type === 'websocket.close') throw new RangeError('no closing')
        return message.type !== 'http.response.body'
      }
      async go(): Promise<void> {
        await this.send({ type: 'websocket.send', text: 'kept' })
        await this.send({ type: 'http.response.body', body: new Uint8Array() })
        await expect(this.send({ type: 'websocket.close' })).rejects.toThrow('no closing')
        throw new StopConsumer()
      }
    }
    const run = new ApplicationCommunicator(Picky.asAsgi(), CHANNEL_SCOPE)
    await run.sendInput({ type: 'go' })
    await run.wait()
    expect(seen).toEqual(['websocket.send', 'http.response.body', 'websocket.close'])
    expect(await run.receiveOutput()).toEqual({ type: 'websocket.send', text: 'kept' })
    expect(await run.receiveNothing(10)).toBe(true)
  })

  it('wrapSend still wraps the server send once per connection', async () => {
    let wrapped = 0
    class Wrapping extends AsyncConsumer {
      protected override wrapSend(send: Send): Send {
        wrapped++
        return (message) => send({ ...message, wrapped: true } as unknown as AsgiSendEvent)
      }
      async go(): Promise<void> {
        await this.send({ type: 'websocket.send', text: 'a' })
        await this.send({ type: 'websocket.send', text: 'b' })
      }
    }
    const run = new ApplicationCommunicator(Wrapping.asAsgi(), CHANNEL_SCOPE)
    await run.sendInput({ type: 'go' })
    expect(await run.receiveOutput()).toMatchObject({ text: 'a', wrapped: true })
    expect(await run.receiveOutput()).toMatchObject({ text: 'b', wrapped: true })
    expect(wrapped).toBe(1)
    run.stop()
  })
})

describe('SyncConsumer', () => {
  it('queues sends in order and awaits them after the handler returns', async () => {
    class Sync extends SyncConsumer {
      ping(): void {
        void this.send({ type: 'http.response.start', status: 200 })
        void this.defer(() => new Promise((resolve) => setImmediate(resolve)))
        void this.send({ type: 'http.response.body', body: Buffer.from('x') })
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
        void this.defer(() => Promise.reject(new RangeError('send failed')))
        void this.defer(() => (ranAfter = true))
      }
    }
    const communicator = new ApplicationCommunicator(Sync.asAsgi(), CHANNEL_SCOPE)
    await communicator.sendInput({ type: 'ping' })
    await expect(communicator.wait()).rejects.toThrow('send failed')
    expect(ranAfter).toBe(false)
  })
})
