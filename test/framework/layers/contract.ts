/**
 * The channel-layer contract: every layer implementation runs this suite (hono's shared
 * `runTest({ newRouter })` pattern). Ports the layer-agnostic cases of Channels'
 * tests/test_inmemorychannel.py and tests/test_layers.py, plus cancel-safety and validation.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ChannelFull } from '../../../src/framework/asgi/errors.js'
import type { ChannelMessage } from '../../../src/framework/asgi/types.js'
import type { ChannelLayer } from '../../../src/framework/layers/types.js'

/** Builds a fresh layer; the suite asks for capacity 3, like Channels' fixture. */
export type CreateLayer = (options: { capacity: number }) => ChannelLayer | Promise<ChannelLayer>

const INVALID_NAMES: unknown[] = [
  '',
  'a'.repeat(100),
  'has space',
  '¯\\_(ツ)_/¯',
  'tab\there',
  'new\nline',
  123,
  null,
  undefined,
]
const INVALID_GROUP_ONLY = ['group!', 'group!abc']
const INVALID_MESSAGES: unknown[] = [
  null,
  undefined,
  'text',
  42,
  [{ type: 'x' }],
  {},
  { type: 7 },
  { type: 'x', __asgi_channel__: 'c' },
]

/** Resolves once queued microtasks and I/O callbacks have run; used to see a promise is pending. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Whether `promise` is still pending after the event loop had a turn. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  promise.then(
    () => (done = true),
    () => (done = true),
  )
  await settle()
  return !done
}

/**
 * How a layer delivers: `queued` layers keep a message until somebody receives it (in-memory,
 * Redis core); `subscribers` layers hand it only to who is subscribed when it is sent (Redis
 * pub/sub), so their tests receive on `newChannel()` names and skip capacity and
 * cancel-then-receive cases, which such a layer does not have.
 */
export interface ContractOptions {
  delivery?: 'queued' | 'subscribers'
}

/** Run the shared channel-layer suite against `createLayer`. */
export function runLayerContract(
  name: string,
  createLayer: CreateLayer,
  options: ContractOptions = {},
): void {
  const queued = (options.delivery ?? 'queued') === 'queued'
  /** A test only a layer that keeps messages until they are received has (not registered else). */
  function itQueued(title: string, test: () => Promise<void>): void {
    if (queued) it(title, test)
  }
  describe(`channel layer contract: ${name}`, () => {
    let layers: ChannelLayer[] = []
    async function make(capacity = 3): Promise<ChannelLayer> {
      const layer = await createLayer({ capacity })
      layers.push(layer)
      return layer
    }
    afterEach(async () => {
      for (const layer of layers) {
        await layer.flush()
        await layer.close()
      }
      layers = []
    })
    /** A channel to receive on: the given name, or a subscribed `newChannel()` for pub/sub. */
    async function named(layer: ChannelLayer, name: string): Promise<string> {
      return queued ? name : layer.newChannel()
    }

    it('declares the groups and flush extensions', async () => {
      const layer = await make()
      expect(layer.extensions).toContain('groups')
      expect(layer.extensions).toContain('flush')
    })

    it('test_send_receive', async () => {
      const layer = await make()
      const channel = await named(layer, 'test-channel-1')
      await layer.send(channel, { type: 'test.message', text: 'Ahoy-hoy!' })
      const message = await layer.receive(channel)
      expect(message).toEqual({ type: 'test.message', text: 'Ahoy-hoy!' })
    })

    it('test_multi_send_receive: FIFO per channel', async () => {
      const layer = await make()
      const channel = await named(layer, 'test-channel-3')
      await layer.send(channel, { type: 'message.1' })
      await layer.send(channel, { type: 'message.2' })
      await layer.send(channel, { type: 'message.3' })
      expect((await layer.receive(channel)).type).toBe('message.1')
      expect((await layer.receive(channel)).type).toBe('message.2')
      expect((await layer.receive(channel)).type).toBe('message.3')
    })

    it('keeps channels apart', async () => {
      const layer = await make()
      const [a, b] = [await named(layer, 'chan-a'), await named(layer, 'chan-b')]
      await layer.send(a, { type: 'for.a' })
      await layer.send(b, { type: 'for.b' })
      expect((await layer.receive(b)).type).toBe('for.b')
      expect((await layer.receive(a)).type).toBe('for.a')
    })

    itQueued('test_send_capacity: the send past capacity rejects with ChannelFull', async () => {
      const layer = await make()
      await layer.send('test-channel-1', { type: 'test.message' })
      await layer.send('test-channel-1', { type: 'test.message' })
      await layer.send('test-channel-1', { type: 'test.message' })
      const err = await layer
        .send('test-channel-1', { type: 'test.message' })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ChannelFull)
      expect((err as ChannelFull).channel).toBe('test-channel-1')
      // Room again after one receive.
      await layer.receive('test-channel-1')
      await layer.send('test-channel-1', { type: 'test.message' })
    })

    it('test_process_local_send_receive: newChannel() names work', async () => {
      const layer = await make()
      const channel = await layer.newChannel()
      // channels_redis's pub/sub layer names channels without a '!'.
      if (queued) expect(channel).toContain('!')
      await layer.send(channel, { type: 'test.message', text: 'Local only please' })
      const message = await layer.receive(channel)
      expect(message).toEqual({ type: 'test.message', text: 'Local only please' })
    })

    it('newChannel() returns distinct names and honours the prefix', async () => {
      const layer = await make()
      const a = await layer.newChannel()
      const b = await layer.newChannel()
      expect(a).not.toBe(b)
      expect(await layer.newChannel('chat.')).toContain('chat.')
    })

    it('receive() waits until a message arrives', async () => {
      const layer = await make()
      const channel = await named(layer, 'waiting-channel')
      const pending = layer.receive(channel)
      expect(await isPending(pending)).toBe(true)
      await layer.send(channel, { type: 'late.arrival' })
      expect((await pending).type).toBe('late.arrival')
    })

    it('two waiters on one channel each get one message', async () => {
      const layer = await make()
      const channel = await named(layer, 'shared')
      const first = layer.receive(channel)
      const second = layer.receive(channel)
      await layer.send(channel, { type: 'm.1' })
      await layer.send(channel, { type: 'm.2' })
      const types = [(await first).type, (await second).type].sort()
      expect(types).toEqual(['m.1', 'm.2'])
    })

    it('test_groups_basic: members receive, a discarded channel does not', async () => {
      const layer = await make()
      const one = await named(layer, 'test-gr-chan-1')
      const two = await named(layer, 'test-gr-chan-2')
      const three = await named(layer, 'test-gr-chan-3')
      await layer.groupAdd('test-group', one)
      await layer.groupAdd('test-group', two)
      await layer.groupAdd('test-group', three)
      await layer.groupDiscard('test-group', two)
      await layer.groupSend('test-group', { type: 'message.1' })
      expect((await layer.receive(one)).type).toBe('message.1')
      expect((await layer.receive(three)).type).toBe('message.1')
      // Instead of a 1 s timeout: a later direct message must be the first one there (FIFO).
      await layer.send(two, { type: 'sentinel' })
      expect((await layer.receive(two)).type).toBe('sentinel')
    })

    it('groupAdd twice keeps one membership', async () => {
      const layer = await make()
      const c1 = await named(layer, 'c1')
      await layer.groupAdd('g', c1)
      await layer.groupAdd('g', c1)
      await layer.groupSend('g', { type: 'once' })
      await layer.send(c1, { type: 'sentinel' })
      expect((await layer.receive(c1)).type).toBe('once')
      expect((await layer.receive(c1)).type).toBe('sentinel')
    })

    it('groupDiscard of a non-member or an unknown group is a no-op', async () => {
      const layer = await make()
      const c1 = await named(layer, 'c1')
      await layer.groupDiscard('no-such-group', c1)
      await layer.groupAdd('g', c1)
      await layer.groupDiscard('g', 'c2')
      await layer.groupSend('g', { type: 'still.there' })
      expect((await layer.receive(c1)).type).toBe('still.there')
    })

    it('groupSend to an unknown group does nothing', async () => {
      const layer = await make()
      await expect(layer.groupSend('nobody-here', { type: 'x' })).resolves.toBeUndefined()
    })

    itQueued('test_groups_channel_full: groupSend never rejects with ChannelFull', async () => {
      const layer = await make()
      await layer.groupAdd('test-group', 'test-gr-chan-1')
      await layer.groupAdd('test-group', 'test-gr-chan-2')
      for (let i = 0; i < 5; i++) await layer.groupSend('test-group', { type: 'message.1', i })
      // The full member got the first three; the others were skipped, not queued.
      for (let i = 0; i < 3; i++) expect((await layer.receive('test-gr-chan-1')).i).toBe(i)
      await layer.send('test-gr-chan-1', { type: 'sentinel' })
      expect((await layer.receive('test-gr-chan-1')).type).toBe('sentinel')
    })

    itQueued('a full member does not stop delivery to the others', async () => {
      const layer = await make()
      await layer.groupAdd('g', 'full')
      await layer.groupAdd('g', 'free')
      for (let i = 0; i < 3; i++) await layer.send('full', { type: 'filler' })
      await layer.groupSend('g', { type: 'hello' })
      expect((await layer.receive('free')).type).toBe('hello')
    })

    itQueued('an aborted receive rejects with the signal reason and loses no message', async () => {
      const layer = await make()
      const controller = new AbortController()
      const pending = layer.receive('cancel-me', { signal: controller.signal })
      expect(await isPending(pending)).toBe(true)
      const reason = new Error('stop waiting')
      controller.abort(reason)
      await expect(pending).rejects.toBe(reason)
      await layer.send('cancel-me', { type: 'kept' })
      expect((await layer.receive('cancel-me')).type).toBe('kept')
    })

    it('a receive with an already-aborted signal takes nothing', async () => {
      const layer = await make()
      const channel = await named(layer, 'pre-aborted')
      await layer.send(channel, { type: 'kept' })
      const signal = AbortSignal.abort()
      await expect(layer.receive(channel, { signal })).rejects.toBe(signal.reason)
      expect((await layer.receive(channel)).type).toBe('kept')
    })

    it('a message is never handed to an aborted waiter', async () => {
      const layer = await make()
      const channel = await named(layer, 'race')
      const controller = new AbortController()
      const aborted = layer.receive(channel, { signal: controller.signal })
      const live = layer.receive(channel)
      controller.abort()
      await expect(aborted).rejects.toThrow()
      await layer.send(channel, { type: 'for.live' })
      expect((await live).type).toBe('for.live')
    })

    itQueued(
      'an abort racing a delivery loses nothing: the receive has it or the next one does',
      async () => {
        const layer = await make()
        const controller = new AbortController()
        const pending = layer.receive('late-abort', { signal: controller.signal })
        await layer.send('late-abort', { type: 'delivered' })
        controller.abort()
        const outcome = await pending.then(
          (message) => message,
          () => layer.receive('late-abort'),
        )
        expect(outcome.type).toBe('delivered')
      },
    )

    it('messages are copied: changes after send or after receive do not leak', async () => {
      const layer = await make()
      const channel = await named(layer, 'copies')
      const message = { type: 'copy.test', nested: { n: 1 }, list: [1, 2] }
      await layer.send(channel, message)
      message.nested.n = 99
      message.list.push(3)
      const received = await layer.receive(channel)
      expect(received).toEqual({ type: 'copy.test', nested: { n: 1 }, list: [1, 2] })
      expect(received).not.toBe(message)
    })

    it('each group member gets its own copy', async () => {
      const layer = await make()
      const [c1, c2] = [await named(layer, 'c1'), await named(layer, 'c2')]
      await layer.groupAdd('g', c1)
      await layer.groupAdd('g', c2)
      await layer.groupSend('g', { type: 'shared', data: { n: 1 } })
      const one = (await layer.receive(c1)) as ChannelMessage & { data: { n: number } }
      one.data.n = 2
      const two = (await layer.receive(c2)) as ChannelMessage & { data: { n: number } }
      expect(two.data.n).toBe(1)
    })

    itQueued('flush drops queued messages and groups', async () => {
      const layer = await make()
      await layer.send('flushed', { type: 'gone' })
      await layer.groupAdd('g', 'member')
      await layer.flush()
      await layer.groupSend('g', { type: 'nobody' })
      await layer.send('flushed', { type: 'after' })
      await layer.send('member', { type: 'sentinel' })
      expect((await layer.receive('flushed')).type).toBe('after')
      expect((await layer.receive('member')).type).toBe('sentinel')
    })

    describe('test_channel_and_group_name_validation', () => {
      itQueued('accepts valid names', async () => {
        const layer = await make()
        await layer.groupAdd('chat', 'chat')
        await layer.groupAdd('Chat_room-1.a', 'specific.abc!xyz_-.')
        await layer.groupDiscard('chat', 'chat')
        await layer.send('a'.repeat(99), { type: 'long.ok' })
        expect((await layer.receive('a'.repeat(99))).type).toBe('long.ok')
      })

      for (const bad of INVALID_NAMES) {
        const label = typeof bad === 'string' ? JSON.stringify(bad.slice(0, 20)) : String(bad)
        it(`rejects channel and group name ${label} on every method`, async () => {
          const layer = await make()
          const msg = { type: 'x' }
          const n = bad as string
          await expect(layer.send(n, msg)).rejects.toThrow(/^Channel name must be/)
          await expect(layer.receive(n)).rejects.toThrow(/^Channel name must be/)
          await expect(layer.groupAdd('ok', n)).rejects.toThrow(/^Channel name must be/)
          await expect(layer.groupDiscard('ok', n)).rejects.toThrow(/^Channel name must be/)
          await expect(layer.groupAdd(n, 'ok')).rejects.toThrow(/^Group name must be/)
          await expect(layer.groupDiscard(n, 'ok')).rejects.toThrow(/^Group name must be/)
          await expect(layer.groupSend(n, msg)).rejects.toThrow(/^Group name must be/)
          await expect(layer.send(n, msg)).rejects.toBeInstanceOf(TypeError)
        })
      }

      for (const bad of INVALID_GROUP_ONLY) {
        it(`rejects ${bad} as a group name but not as a channel name`, async () => {
          const layer = await make()
          await expect(layer.groupAdd(bad, 'ok')).rejects.toThrow(/^Group name must be/)
          await expect(layer.groupSend(bad, { type: 'x' })).rejects.toThrow(/^Group name must be/)
          // Valid process-specific channel names (receiving on them is layer-specific).
          await expect(layer.send(bad, { type: 'fine' })).resolves.toBeUndefined()
        })
      }
    })

    for (const bad of INVALID_MESSAGES) {
      it(`rejects the message ${(JSON.stringify(bad) as string | undefined) ?? String(bad)} on send and groupSend`, async () => {
        const layer = await make()
        const m = bad as ChannelMessage
        await expect(layer.send('ok', m)).rejects.toBeInstanceOf(TypeError)
        await expect(layer.groupSend('ok', m)).rejects.toBeInstanceOf(TypeError)
      })
    }
  })
}
