import { describe, expect, it } from 'vitest'
import { SETTLED } from '../../../src/framework/asgi/fast-path.js'
import type { ChannelMessage } from '../../../src/framework/asgi/types.js'
import { DispatchLoop } from '../../../src/framework/consumers/dispatch-loop.js'
import type { ChannelLayer } from '../../../src/framework/layers/types.js'

/** A consumer whose handler returns what `result()` gives; records what it saw, in order. */
function recorder(result: () => void | PromiseLike<void>) {
  const seen: string[] = []
  const dispatcher = {
    dispatch(message: ChannelMessage) {
      seen.push(message.type)
      return result()
    },
  }
  // A receive that never delivers, and a layer whose receiveInto only arms: the messages below
  // are handed in as the layer would (layerMessage).
  const layer = { receiveInto() {}, cancelReceive() {} } as unknown as ChannelLayer
  const loop = new DispatchLoop(dispatcher, () => new Promise(() => undefined), layer)
  void loop.promise()
  loop.start('test.channel')
  return { seen, loop }
}

describe('DispatchLoop', () => {
  it('goes on at once after a handler that returns SETTLED (no microtask)', () => {
    const { seen, loop } = recorder(() => SETTLED)
    loop.layerMessage({ type: 'one' })
    loop.layerMessage({ type: 'two' })
    expect(seen).toEqual(['one', 'two'])
  })

  it('awaits any other promise, even a resolved one', async () => {
    const { seen, loop } = recorder(() => Promise.resolve())
    loop.layerMessage({ type: 'one' })
    loop.layerMessage({ type: 'two' })
    expect(seen).toEqual(['one'])
    await new Promise((resolve) => setImmediate(resolve))
    expect(seen).toEqual(['one', 'two'])
  })
})
