/**
 * The framework's share of group fan-out: N in-process chat consumers (the example's
 * ChatConsumer shape) in one group, `groupSend` M messages, count the `websocket.send` events
 * reaching a stub server `send`. Prints CPU µs per delivery (process.cpuUsage) and the
 * allocations per delivery (heap growth between GCs is not measured: see --trace-gc).
 *
 *   node dist/bench/micro/group-fanout.js [-n 1000] [-m 200] [--rounds 5]
 */
import { parseArgs } from 'node:util'
import type { AsgiSendEvent, Scope } from '../../src/framework/asgi/types.js'
import { AsyncWebsocketConsumer } from '../../src/framework/consumers/websocket.js'
import { channelLayers, getChannelLayer } from '../../src/framework/layers/registry.js'
import { ReceiveQueue } from '../../src/server/receive-queue.js'
import { configureSettings } from '../../src/framework/settings/index.js'

const { values } = parseArgs({
  options: {
    n: { type: 'string', short: 'n', default: '1000' },
    m: { type: 'string', short: 'm', default: '200' },
    rounds: { type: 'string', default: '5' },
  },
})
const N = Number(values.n)
const M = Number(values.m)

class ChatConsumer extends AsyncWebsocketConsumer {
  override async connect(): Promise<void> {
    await this.channelLayer.groupAdd('chat_bench', this.channelName)
    await this.accept()
  }
  override async disconnect(): Promise<void> {
    await this.channelLayer.groupDiscard('chat_bench', this.channelName)
  }
  async chat_message(event: { message: string; user: string | null }): Promise<void> {
    await this.send({ textData: JSON.stringify({ message: event.message, user: event.user }) })
  }
}

configureSettings({
  CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } },
})

const RESOLVED = Promise.resolve()
let sent = 0
let accepted = 0
let wake: (() => void) | null = null
let want = 0
function send(message: AsgiSendEvent): Promise<void> {
  if (message.type === 'websocket.send') {
    if (++sent === want && wake !== null) wake()
  } else if (message.type === 'websocket.accept') accepted++
  return RESOLVED
}

async function main(): Promise<void> {
  const app = ChatConsumer.asAsgi()
  const queues: ReceiveQueue<unknown>[] = []
  const runs: Promise<void>[] = []
  for (let i = 0; i < N; i++) {
    const queue = new ReceiveQueue<unknown>()
    const scope = { type: 'websocket', path: '/ws/chat/bench/', headers: [] } as unknown as Scope
    runs.push(app(scope, queue.receive as never, send))
    queue.push({ type: 'websocket.connect' })
    queues.push(queue)
  }
  await new Promise((r) => setTimeout(r, 50))
  if (accepted !== N) throw new Error(`${accepted} of ${N} accepted`)
  const layer = getChannelLayer()!
  const results: number[] = []
  for (let round = 0; round < Number(values.rounds); round++) {
    sent = 0
    want = N * M
    const done = new Promise<void>((r) => (wake = r))
    const t0 = process.cpuUsage()
    for (let i = 0; i < M; i++) {
      await layer.groupSend('chat_bench', {
        type: 'chat.message',
        message: `hello ${i}`,
        user: null,
      })
      // Let the deliveries run, as separate client messages would.
      await new Promise((r) => setImmediate(r))
    }
    await done
    const t = process.cpuUsage(t0)
    results.push((t.user + t.system) / (N * M))
  }
  const sorted = [...results].sort((a, b) => a - b)
  console.log(
    `group fan-out, ${N} members × ${M} messages: ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} µs CPU per delivery ` +
      `(rounds: ${results.map((r) => r.toFixed(3)).join(' ')})`,
  )
  for (const q of queues) q.push({ type: 'websocket.disconnect', code: 1000 })
  await Promise.allSettled(runs)
  await channelLayers.closeAll()
}

await main()
