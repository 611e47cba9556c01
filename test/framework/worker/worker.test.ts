/**
 * The Worker (channels runworker's engine) in-process: one long-lived instance per channel,
 * messages in order and one at a time, a raising instance logged and replaced, a message without
 * type logged and skipped, no send(), and a stop that lets the message in hand finish and leaves
 * the rest in the layer.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AsyncConsumer } from '../../../src/framework/consumers/index.js'
import type { ChannelMessage, Receive, Scope, Send } from '../../../src/framework/asgi/types.js'
import { CancelledError } from '../../../src/framework/asgi/errors.js'
import { InMemoryChannelLayer } from '../../../src/framework/layers/index.js'
import type { ChannelLayer } from '../../../src/framework/layers/types.js'
import { ChannelNameRouter } from '../../../src/framework/routing/index.js'
import { configureSettings } from '../../../src/framework/settings/index.js'
import { Worker } from '../../../src/framework/worker/index.js'
import { recordLogs } from '../../helpers/with-server.js'

/** A promise and its resolver. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/** A few turns of the event loop. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

let logs: ReturnType<typeof recordLogs>
let layer: InMemoryChannelLayer
const workers: Worker[] = []

beforeEach(() => {
  // No CHANNEL_LAYERS: the consumers get no layer of their own; the worker gets `layer`.
  configureSettings({})
  logs = recordLogs()
  layer = new InMemoryChannelLayer()
})

afterEach(async () => {
  for (const worker of workers.splice(0)) {
    worker.stop()
    await worker.run().catch(() => undefined)
  }
  logs.restore()
  await layer.close()
  configureSettings({})
})

function startWorker(
  application: Worker['application'],
  channels: string[],
  options: { applicationCloseTimeout?: number; channelLayer?: ChannelLayer } = {},
): { worker: Worker; running: Promise<void> } {
  const worker = new Worker({ application, channels, channelLayer: layer, ...options })
  workers.push(worker)
  return { worker, running: worker.run() }
}

const messages = (level: string) =>
  logs.records.filter((r) => r.level === level).map((r) => r.message)

/** What the test consumers saw: `instance:type` per handled message, and the scopes. */
const seen: string[] = []
let instances = 0
let gate: Promise<void> | undefined
let active = 0
let maxActive = 0

class Recorder extends AsyncConsumer {
  readonly id = ++instances

  async job_run(event: ChannelMessage): Promise<void> {
    active++
    maxActive = Math.max(maxActive, active)
    seen.push(`${this.id}:${String(event.n)}`)
    if (gate !== undefined) await gate
    active--
  }

  job_fail(): void {
    seen.push(`${this.id}:fail`)
    throw new Error('boom')
  }

  async job_reply(): Promise<void> {
    await this.send({ type: 'websocket.accept' })
  }
}

beforeEach(() => {
  seen.length = 0
  instances = 0
  gate = undefined
  active = 0
  maxActive = 0
})

describe('Worker', () => {
  it('hands a channel’s messages to one instance with a channel scope, in order, one at a time', async () => {
    const hold = deferred()
    gate = hold.promise
    const scopeSeen: unknown[] = []
    const app = Recorder.asAsgi()
    startWorker(
      (scope: Scope, receive: Receive, send: Send) => {
        scopeSeen.push(scope)
        return app(scope, receive, send)
      },
      ['jobs'],
    )
    for (const n of [1, 2, 3]) await layer.send('jobs', { type: 'job.run', n })
    await vi.waitFor(() => expect(seen).toEqual(['1:1']))
    // The first one is in hand: the others wait in the layer, not in the worker.
    expect(layer.channels.get('jobs')).toMatchObject({ size: 2, waiting: 0 })
    hold.resolve()
    await vi.waitFor(() => expect(seen).toEqual(['1:1', '1:2', '1:3']))
    expect(maxActive).toBe(1)
    expect(scopeSeen).toEqual([{ type: 'channel', channel: 'jobs' }])
  })

  it('runs each channel in its own instance; a busy channel does not hold up another', async () => {
    const hold = deferred()
    gate = hold.promise
    startWorker(Recorder.asAsgi(), ['slow', 'fast'])
    await layer.send('slow', { type: 'job.run', n: 'slow' })
    await vi.waitFor(() => expect(seen).toEqual(['1:slow']))
    gate = undefined
    await layer.send('fast', { type: 'job.run', n: 'fast' })
    await vi.waitFor(() => expect(seen).toEqual(['1:slow', '2:fast']))
    hold.resolve()
  })

  it('logs an instance that raises and gives the next message to a fresh one', async () => {
    startWorker(Recorder.asAsgi(), ['jobs'])
    await layer.send('jobs', { type: 'job.run', n: 1 })
    await layer.send('jobs', { type: 'job.fail' })
    await layer.send('jobs', { type: 'job.run', n: 2 })
    await vi.waitFor(() => expect(seen).toEqual(['1:1', '1:fail', '2:2']))
    const failure = logs.records.find((r) => r.message === 'Exception inside application: boom')
    expect(failure?.level).toBe('error')
    expect((failure?.error as Error).message).toBe('boom')
    expect(failure?.logger).toBe('channels.worker')
  })

  it('logs a message without type and goes on with the next one', async () => {
    const fake = new ScriptedLayer()
    startWorker(Recorder.asAsgi(), ['jobs'], { channelLayer: fake })
    fake.push({ room: 'lobby', text: 'no type here' })
    fake.push({ type: '', x: 1 })
    fake.push({ type: 'job.run', n: 1 })
    await vi.waitFor(() => expect(seen).toEqual(['1:1']))
    expect(messages('error')).toEqual([
      "Worker received message with no type. Skipped a message with keys 'room', 'text'.",
      "Worker received message with no type. Skipped a message with keys 'type', 'x'.",
    ])
  })

  it('refuses send(): the instance fails with a clear error and is replaced', async () => {
    startWorker(Recorder.asAsgi(), ['jobs'])
    await layer.send('jobs', { type: 'job.reply' })
    await layer.send('jobs', { type: 'job.run', n: 1 })
    await vi.waitFor(() => expect(seen).toEqual(['2:1']))
    expect(messages('error')).toEqual([
      "Exception inside application: send() is not available to an application run by a worker: a 'channel' scope has no client (Channels raises NotImplementedError). Reply through the channel layer instead, e.g. this.channelLayer.send(replyChannel, message).",
    ])
  })

  it('routes with ChannelNameRouter: an unrouted channel fails, logged, and its message is dropped', async () => {
    const router = new ChannelNameRouter({ jobs: Recorder.asAsgi() })
    startWorker(router, ['jobs', 'other'])
    await layer.send('other', { type: 'job.run', n: 'x' })
    await layer.send('jobs', { type: 'job.run', n: 1 })
    await vi.waitFor(() => expect(seen).toEqual(['1:1']))
    await vi.waitFor(() =>
      expect(messages('error')).toEqual([
        "Exception inside application: No application configured for channel name 'other'",
        "The message 'job.run' on channel 'other' was dropped: its application ended without receiving it",
      ]),
    )
  })

  it('drops, with an error, a message whose application ends without receiving it', async () => {
    let calls = 0
    startWorker(async () => {
      calls++
    }, ['jobs'])
    await layer.send('jobs', { type: 'job.run', n: 1 })
    await vi.waitFor(() =>
      expect(messages('error')).toEqual([
        "The message 'job.run' on channel 'jobs' was dropped: its application ended without receiving it",
      ]),
    )
    expect(calls).toBe(1)
  })

  it('stop: finishes the message in hand, leaves the next ones in the layer, ends the instances', async () => {
    const hold = deferred()
    gate = hold.promise
    let endedWith: unknown = 'running'
    const app = Recorder.asAsgi()
    const { worker, running } = startWorker(
      (scope: Scope, receive: Receive, send: Send) =>
        app(scope, receive, send).then(
          () => {
            endedWith = 'returned'
          },
          (error: unknown) => {
            endedWith = error
            throw error
          },
        ),
      ['jobs'],
    )
    await layer.send('jobs', { type: 'job.run', n: 1 })
    await vi.waitFor(() => expect(seen).toEqual(['1:1']))
    worker.stop()
    expect(worker.busy).toBe(1)
    await layer.send('jobs', { type: 'job.run', n: 2 })
    expect(layer.channels.get('jobs')).toMatchObject({ size: 1, waiting: 0 })
    expect(await Promise.race([running.then(() => 'stopped'), settle().then(() => 'busy')])).toBe(
      'busy',
    )
    hold.resolve()
    await running
    expect(seen).toEqual(['1:1'])
    expect(endedWith).toBeInstanceOf(CancelledError)
    expect(logs.records).toEqual([])
    // The message sent during the stop is still in the layer for the next worker.
    expect(await layer.receive('jobs')).toEqual({ type: 'job.run', n: 2 })
  })

  it('stop: an idle worker stops at once, and its cancelled receive loses nothing', async () => {
    const { worker, running } = startWorker(Recorder.asAsgi(), ['jobs', 'more'])
    await layer.send('jobs', { type: 'job.run', n: 1 })
    await vi.waitFor(() => expect(seen).toEqual(['1:1']))
    worker.stop()
    await running
    await layer.send('jobs', { type: 'job.run', n: 2 })
    const next = new Worker({
      application: Recorder.asAsgi(),
      channels: ['jobs'],
      channelLayer: layer,
    })
    workers.push(next)
    void next.run()
    await vi.waitFor(() => expect(seen).toEqual(['1:1', '2:2']))
  })

  it('stop: gives up on an instance still busy after applicationCloseTimeout, with a warning', async () => {
    gate = new Promise(() => undefined) // never
    const { worker, running } = startWorker(Recorder.asAsgi(), ['jobs'], {
      applicationCloseTimeout: 50,
    })
    await layer.send('jobs', { type: 'job.run', n: 1 })
    await vi.waitFor(() => expect(seen).toEqual(['1:1']))
    worker.stop()
    await running
    expect(messages('warn')).toEqual([
      "Application instance for channel 'jobs' took too long to shut down and was killed.",
    ])
  })

  it('stops and rejects when a receive fails for another reason', async () => {
    const fake = new ScriptedLayer()
    const { running } = startWorker(Recorder.asAsgi(), ['jobs'], { channelLayer: fake })
    fake.fail(new Error('layer broke'))
    await expect(running).rejects.toThrow('layer broke')
    expect(messages('error')).toEqual(["Receiving on channel 'jobs' failed; stopping the worker"])
  })

  it('refuses bad channel names, process-specific names and no channels', () => {
    const make = (channels: unknown) => () =>
      new Worker({
        application: Recorder.asAsgi(),
        channels: channels as string[],
        channelLayer: layer,
      })
    expect(make(['bad name'])).toThrow(
      "Invalid channel name 'bad name': Channel name must be a valid unicode string with length < 100 containing only ASCII alphanumerics, hyphens, underscores, or periods.",
    )
    expect(make(['x'.repeat(100)])).toThrow(TypeError)
    expect(make(['specific.abc!def'])).toThrow(
      "Invalid channel name 'specific.abc!def': a name with '!' is a process-specific channel",
    )
    expect(make([])).toThrow('A worker needs at least one channel name')
    expect(
      () =>
        new Worker({
          application: Recorder.asAsgi(),
          channels: ['ok'],
          channelLayer: null as unknown as ChannelLayer,
        }),
    ).toThrow('Channel layer is not valid: got null')
    expect(
      new Worker({ application: Recorder.asAsgi(), channels: ['a', 'b', 'a'], channelLayer: layer })
        .channels,
    ).toEqual(['a', 'b'])
  })
})

/** A layer whose receive hands out what the test pushes (anything, typeless messages too). */
class ScriptedLayer implements ChannelLayer {
  readonly extensions = [] as const
  readonly #queue: unknown[] = []
  #waiter: { resolve: (m: unknown) => void; reject: (e: unknown) => void } | undefined

  push(message: unknown): void {
    const waiter = this.#waiter
    this.#waiter = undefined
    if (waiter) waiter.resolve(message)
    else this.#queue.push(message)
  }

  fail(error: Error): void {
    this.#waiter?.reject(error)
  }

  receive(_channel: string, options?: { signal?: AbortSignal }): Promise<ChannelMessage> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift() as ChannelMessage)
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve: resolve as (m: unknown) => void, reject }
      options?.signal?.addEventListener('abort', () => reject(options.signal!.reason as Error), {
        once: true,
      })
    })
  }

  send = () => Promise.resolve()
  newChannel = () => Promise.resolve('specific.x!y')
  groupAdd = () => Promise.resolve()
  groupDiscard = () => Promise.resolve()
  groupSend = () => Promise.resolve()
  flush = () => Promise.resolve()
  close = () => Promise.resolve()
}
