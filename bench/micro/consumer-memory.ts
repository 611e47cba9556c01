/**
 * Bytes of heap per idle WebSocket consumer: N connections through the example project's stack
 * (AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([chat, echo])))), each accepted and
 * joined to a room, then idle. Uses the server's own ReceiveQueue as `receive`; the scope is what
 * the server builds (headers as Buffers). Server-side objects (the queue, headers) are counted:
 * subtract `--bare` (same, without the application) to see the framework's share.
 *
 *   node --expose-gc dist/bench/micro/consumer-memory.js [-n 10000] [--route chat|echo] [--bare]
 */
import { parseArgs } from 'node:util'
import { writeHeapSnapshot } from 'node:v8'
import type { AsgiSendEvent, Scope } from '../../src/framework/asgi/types.js'
import { AsyncWebsocketConsumer } from '../../src/framework/consumers/websocket.js'
import { channelLayers } from '../../src/framework/layers/registry.js'
import { AuthMiddlewareStack } from '../../src/framework/middleware/auth.js'
import { closeSessionStores } from '../../src/framework/middleware/sessions/engine.js'
import { AllowedHostsOriginValidator } from '../../src/framework/middleware/origin.js'
import { path, rePath } from '../../src/framework/routing/route.js'
import { URLRouter } from '../../src/framework/routing/url.js'
import { ReceiveQueue } from '../../src/server/receive-queue.js'
import { configureSettings } from '../../src/framework/settings/index.js'

const { values } = parseArgs({
  options: {
    n: { type: 'string', short: 'n', default: '10000' },
    route: { type: 'string', default: 'chat' },
    bare: { type: 'boolean', default: false },
    snapshot: { type: 'string' },
  },
})
const N = Number(values.n)

class ChatConsumer extends AsyncWebsocketConsumer {
  roomGroupName = ''
  override async connect(): Promise<void> {
    this.roomGroupName = `chat_${String(this.scope.url_route?.kwargs.room_name)}`
    await this.channelLayer.groupAdd(this.roomGroupName, this.channelName)
    await this.accept()
    await this.send({ textData: '{"user":null}' })
  }
  async chat_message(event: { message: string }): Promise<void> {
    await this.send({ textData: JSON.stringify({ message: event.message }) })
  }
}
class EchoConsumer extends AsyncWebsocketConsumer {
  override async receive(textData?: string): Promise<void> {
    if (textData !== undefined) await this.send({ textData })
  }
}

configureSettings({
  DEBUG: true,
  SECRET_KEY: 'x',
  CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } },
  SESSION_ENGINE: 'memory',
})

const app = AllowedHostsOriginValidator(
  AuthMiddlewareStack(
    new URLRouter([
      rePath(String.raw`^ws/chat/(?<room_name>\w+)/$`, ChatConsumer.asAsgi()),
      path('ws/echo/', EchoConsumer.asAsgi()),
    ]),
  ),
)

const wsPath = values.route === 'echo' ? '/ws/echo/' : '/ws/chat/bench/'

function makeScope(i: number): Scope {
  return {
    type: 'websocket',
    asgi: { version: '3.0', spec_version: '2.3' },
    http_version: '1.1',
    scheme: 'ws',
    path: wsPath,
    raw_path: Buffer.from(wsPath),
    query_string: Buffer.alloc(0),
    root_path: '',
    headers: [
      [Buffer.from('host'), Buffer.from('127.0.0.1:18990')],
      [Buffer.from('origin'), Buffer.from('http://127.0.0.1:18990')],
      [Buffer.from('sec-websocket-key'), Buffer.from(`dGhlIHNhbXBsZSBub25jZQ${i % 10}=`)],
      [Buffer.from('sec-websocket-version'), Buffer.from('13')],
      [Buffer.from('upgrade'), Buffer.from('websocket')],
      [Buffer.from('connection'), Buffer.from('Upgrade')],
    ],
    client: ['127.0.0.1', 40000 + (i % 20000)],
    server: ['127.0.0.1', 18990],
    subprotocols: [],
    state: {},
  } as unknown as Scope
}

interface Conn {
  queue: ReceiveQueue<unknown>
  scope: Scope
  done: Promise<void> | undefined
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r))
      gc()
    }
    return process.memoryUsage().heapUsed
  }
  // Warm up (JIT, lazily built stores, the layer) with one connection we keep.
  const conns: Conn[] = []
  let accepted = 0
  const open = (i: number): Conn => {
    const queue = new ReceiveQueue<unknown>()
    const scope = makeScope(i)
    const conn: Conn = { queue, scope, done: undefined }
    if (!values.bare) {
      const send = (message: AsgiSendEvent): Promise<void> => {
        if (message.type === 'websocket.accept') accepted++
        return Promise.resolve()
      }
      conn.done = app(scope, queue.receive as never, send)
      conn.done.catch((err: unknown) => console.error('app failed:', err))
    }
    queue.push({ type: 'websocket.connect' })
    return conn
  }
  conns.push(open(0))
  await settle()
  const before = await settle()
  const cpu0 = process.cpuUsage()
  for (let i = 1; i <= N; i++) {
    conns.push(open(i))
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r))
  }
  await new Promise((r) => setImmediate(r))
  const cpu = process.cpuUsage(cpu0)
  const after = await settle()
  if (!values.bare && accepted !== N + 1) throw new Error(`only ${accepted} of ${N + 1} accepted`)
  const perConn = (after - before) / N
  console.log(
    `${values.bare ? 'bare (server objects only)' : `route ${wsPath}`}: ${N} idle connections, ` +
      `${(perConn / 1024).toFixed(2)} KiB heap per connection (${Math.round(perConn)} B), ` +
      `${((cpu.user + cpu.system) / N).toFixed(1)} µs CPU per connect (GC included)`,
  )
  if (values.snapshot) console.log(`heap snapshot: ${writeHeapSnapshot(values.snapshot)}`)
  for (const conn of conns) conn.queue.push({ type: 'websocket.disconnect', code: 1000 })
  await Promise.allSettled(conns.flatMap((c) => c.done ?? []))
  await channelLayers.closeAll()
  closeSessionStores()
}

await main()
