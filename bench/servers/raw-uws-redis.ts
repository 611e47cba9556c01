/**
 * Cross-process baseline: bench/servers/raw-uws.ts with its chat rooms spread over processes
 * through Redis pub/sub, the idiomatic way: a process SUBSCRIBEs once per room it has members in,
 * a chat message is PUBLISHed to Redis (never delivered locally first), and a message from Redis
 * goes to the room's native uWS topic. This is what "raw uWS + Redis" means in the cross-process
 * report.
 *   node dist/bench/servers/raw-uws-redis.js PORT REDIS_URL
 */
import { createRequire } from 'node:module'
import { createClient } from '@redis/client'

const require = createRequire(import.meta.url)
// The benchmark's reference server imports uWS directly on purpose; the framework never does
// outside src/server/reactor/uws.ts.
const uws = require('uWebSockets.js') as typeof import('uWebSockets.js')

const port = Number(process.argv[2] ?? 8000)
const redisUrl = process.argv[3] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const decoder = new TextDecoder()
interface Data {
  room: string | null
}

// A connection in subscriber mode cannot PUBLISH, so there are two.
const pub = createClient({ url: redisUrl })
const sub = pub.duplicate()
for (const client of [pub, sub]) {
  client.on('error', (error: unknown) => console.error('raw-uws-redis: redis:', error))
}
await Promise.all([pub.connect(), sub.connect()])

/** Local members per room; the process is subscribed to a room's channel while it has any. */
const members = new Map<string, number>()

function join(room: string): void {
  const count = members.get(room) ?? 0
  members.set(room, count + 1)
  if (count > 0) return
  const topic = `chat_${room}`
  sub
    .subscribe(topic, (message: Buffer) => app.publish(topic, message, false), true)
    .catch((error: unknown) => console.error('raw-uws-redis: subscribe:', error))
}

function leave(room: string): void {
  const count = members.get(room)! - 1
  if (count > 0) {
    members.set(room, count)
    return
  }
  members.delete(room)
  sub
    .unsubscribe(`chat_${room}`)
    .catch((error: unknown) => console.error('raw-uws-redis: unsubscribe:', error))
}

const app = uws.App()
app
  .get('/', (res) => {
    res.cork(() => res.writeHeader('content-type', 'text/plain').end('ok'))
  })
  .ws<Data>('/ws/*', {
    maxPayloadLength: 1 << 20,
    idleTimeout: 0,
    upgrade: (res, req, context) => {
      const url = req.getUrl()
      const room = url.startsWith('/ws/chat/') ? url.slice(9).replace(/\/$/, '') : null
      res.upgrade<Data>(
        { room },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      )
    },
    open: (ws) => {
      const { room } = ws.getUserData()
      if (room) {
        ws.subscribe(`chat_${room}`)
        join(room)
      }
    },
    message: (ws, message, isBinary) => {
      const { room } = ws.getUserData()
      if (!room) {
        ws.send(message, isBinary)
        return
      }
      const { message: text } = JSON.parse(decoder.decode(message)) as { message: unknown }
      pub
        .publish(`chat_${room}`, JSON.stringify({ message: text }))
        .catch((error: unknown) => console.error('raw-uws-redis: publish:', error))
    },
    close: (ws) => {
      const { room } = ws.getUserData()
      if (room) leave(room)
    },
  })
  .listen('127.0.0.1', port, (token) => {
    if (!token) {
      console.error(`raw-uws-redis: cannot listen on ${port}`)
      process.exit(1)
    }
    console.log(`raw-uws-redis listening on ${port}`)
  })

// SIGTERM from the benchmark: close the Redis connections so redis-server sees clean quits.
process.once('SIGTERM', () => {
  void Promise.allSettled([pub.close(), sub.close()]).then(() => process.exit(0))
})
