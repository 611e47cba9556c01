/**
 * The server's own share of the WebSocket hot path, without sockets or a reactor: a handshake
 * (request checks, scope, app instance, accept, open, close), an app → client send and a
 * client → app message, each driven through WebSocketConnection with stub reactor objects and a
 * raw ASGI app. Nanoseconds per operation; deterministic enough to compare two builds.
 *
 *   node dist/bench/micro/server-path.js [--rounds 5] [--n 20000]
 */
import { parseArgs } from 'node:util'
import type { Application } from '../../src/framework/asgi/types.js'
import type {
  ReactorRequest,
  ReactorWebSocket,
  UpgradeResponder,
  WebSocketHandlers,
} from '../../src/server/reactor/types.js'
import { resolveServerConfig } from '../../src/server/config.js'
import type { ServerContext, TrackedConnection } from '../../src/server/connection.js'
import { SharedScopeParts } from '../../src/server/request.js'
import { WebSocketConnection } from '../../src/server/protocols/websocket.js'
import { checkRequest } from '../../src/server/request.js'
import { SendBudget } from '../../src/server/send-budget.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    n: { type: 'string', default: '20000' },
  },
})
const ROUNDS = Number(values.rounds)
const N = Number(values.n)

const ctx: ServerContext = {
  config: resolveServerConfig({}),
  lifespanState: null,
  stopping: false,
  emit: () => undefined,
  release: (_: TrackedConnection) => undefined,
  sendBudget: new SendBudget(0),
  scopeParts: new SharedScopeParts(),
  keepScopes: false,
  keepNotes: false,
}

let sent = 0
const socket: ReactorWebSocket = {
  send: () => {
    sent++
    return 0
  },
  close: () => undefined,
  terminate: () => undefined,
  ping: () => undefined,
  bufferedAmount: () => 0,
  cork: (fn) => fn(),
}

let accepted: WebSocketHandlers[] = []
const upgrade = (): UpgradeResponder => ({
  onAborted: () => undefined,
  accept: (_options, handlers) => {
    accepted.push(handlers)
  },
  reject: () => undefined,
})

function request(i: number): ReactorRequest {
  return {
    method: 'GET',
    url: '/ws/echo/',
    httpVersion: '1.1',
    headers: [
      'host',
      '127.0.0.1:8000',
      'connection',
      'Upgrade',
      'upgrade',
      'websocket',
      'sec-websocket-version',
      '13',
      'sec-websocket-key',
      `dGhlIHNhbXBsZSBub25jZ${String(i % 1000).padStart(3, '0')}=`,
      'origin',
      'http://127.0.0.1:8000',
      'user-agent',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0',
    ],
    remote: { host: `10.0.0.${i % 200}`, port: 0 },
    local: { host: '127.0.0.1', port: 8000 },
    tls: false,
  }
}

let sendTo: ((text: string) => Promise<void>)[] = []
const app: Application = async (scope, receive, send) => {
  if (scope.type !== 'websocket') return
  let event = await receive()
  await send({ type: 'websocket.accept' })
  sendTo.push((text) => send({ type: 'websocket.send', text }))
  for (;;) {
    event = await receive()
    if (event.type === 'websocket.disconnect') return
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function round(): Promise<{ handshake: number; send: number; receive: number }> {
  accepted = []
  sendTo = []
  const requests = Array.from({ length: N }, (_, i) => request(i))
  let t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    const req = requests[i] as ReactorRequest
    if (checkRequest(req) !== null) continue
    // As the server's onUpgrade does.
    const connection = new WebSocketConnection(ctx, req, [], upgrade(), app)
    connection.queue.handOverNow()
    connection.watchUpgrade()
  }
  await tick()
  for (const handlers of accepted) handlers.onOpen(socket)
  const handshake = Number(process.hrtime.bigint() - t0) / N
  const text = 'x'.repeat(64)
  t0 = process.hrtime.bigint()
  for (let k = 0; k < 10; k++) for (const send of sendTo) void send(text)
  const sendNs = Number(process.hrtime.bigint() - t0) / (10 * sendTo.length)
  t0 = process.hrtime.bigint()
  for (let k = 0; k < 10; k++) {
    for (const handlers of accepted) handlers.onText(text)
    await tick()
  }
  const receive = Number(process.hrtime.bigint() - t0) / (10 * accepted.length)
  for (const handlers of accepted) handlers.onClose(1000, '')
  await tick()
  return { handshake, send: sendNs, receive }
}

for (let r = 0; r < ROUNDS; r++) {
  const { handshake, send, receive } = await round()
  console.log(
    `round ${r}: handshake ${handshake.toFixed(0)} ns, send ${send.toFixed(0)} ns, receive ${receive.toFixed(0)} ns (sent ${sent})`,
  )
}
