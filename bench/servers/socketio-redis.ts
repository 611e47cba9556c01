/**
 * Cross-process comparison: Socket.IO 4 with @socket.io/redis-adapter, the way its documentation
 * scales out. Rooms live in the adapter; `io.to(room).emit` delivers to the local members and
 * PUBLISHes once to Redis, and every other process (PSUBSCRIBEd once to the namespace's channels)
 * delivers to its own members.
 *   node dist/bench/servers/socketio-redis.js PORT REDIS_URL
 *
 * The benchmark's chat endpoint over Socket.IO's protocol (what a Socket.IO client can speak): a
 * client connects to /socket.io/?EIO=4&transport=websocket&room=<room> and joins <room>; a
 * `message` event carrying `{"message": …}` JSON text goes to the room as a `message` event with
 * the same JSON text, as the Channels tutorial's chat consumer re-serialises it. `GET /` answers
 * `ok` so the benchmark can tell the server is up.
 */
import { createServer } from 'node:http'
import { createClient } from '@redis/client'
import { createAdapter } from '@socket.io/redis-adapter'
import { Server } from 'socket.io'

const port = Number(process.argv[2] ?? 8000)
const redisUrl = process.argv[3] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

const pub = createClient({ url: redisUrl })
const sub = pub.duplicate()
for (const client of [pub, sub]) {
  client.on('error', (error: unknown) => console.error('socketio-redis: redis:', error))
}
await Promise.all([pub.connect(), sub.connect()])

const http = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
})
const io = new Server(http, {
  adapter: createAdapter(pub, sub),
  // The clients speak the WebSocket transport from the start, as the load generator does.
  transports: ['websocket'],
  serveClient: false,
})

io.on('connection', (socket) => {
  const room = socket.handshake.query.room
  if (typeof room !== 'string' || room === '') return
  void socket.join(room)
  socket.on('message', (data: unknown) => {
    if (typeof data !== 'string') return
    const { message } = JSON.parse(data) as { message: unknown }
    io.to(room).emit('message', JSON.stringify({ message }))
  })
})

http.listen(port, '127.0.0.1', () => console.log(`socketio-redis listening on ${port}`))

process.once('SIGTERM', () => {
  void io.close()
  void Promise.allSettled([pub.close(), sub.close()]).then(() => process.exit(0))
})
