/**
 * The protocol server without the framework: a raw ASGI application (no middleware, routers,
 * consumers or channel layer) serving the benchmark's endpoints on `createServer`. Echo sends
 * every frame back; /ws/chat/<room>/ keeps a Set of members' `send`s and fans each message out
 * in a JS loop. Run `bench/loadgen.js` against it like against `channels serve`: the difference
 * from the example project is what the framework costs, the difference from raw uWS what the
 * server and reactor cost.
 *
 *   taskset -c 0 node dist/bench/micro/server-only.js 18992
 */
import type { Application, Send } from '../../src/framework/asgi/types.js'
import { createServer } from '../../src/server/index.js'

const port = Number(process.argv[2] ?? 18992)
const rooms = new Map<string, Set<Send>>()

const app: Application = async (scope, receive, send) => {
  if (scope.type === 'http') {
    await receive()
    await send({ type: 'http.response.start', status: 200, headers: [] })
    await send({ type: 'http.response.body', body: Buffer.from('ok') })
    return
  }
  if (scope.type !== 'websocket') return
  const room = scope.path.startsWith('/ws/chat/') ? scope.path.slice(9).replace(/\/$/, '') : null
  let members: Set<Send> | undefined
  for (;;) {
    const event = await receive()
    if (event.type === 'websocket.connect') {
      await send({ type: 'websocket.accept', subprotocol: null })
      if (room !== null) {
        members = rooms.get(room)
        if (members === undefined) rooms.set(room, (members = new Set()))
        members.add(send)
      }
    } else if (event.type === 'websocket.receive') {
      const text = event.text as string | null | undefined
      if (members === undefined) {
        await send(
          text != null
            ? { type: 'websocket.send', text }
            : {
                type: 'websocket.send',
                bytes: (event.bytes as Uint8Array | null) ?? new Uint8Array(),
              },
        )
        continue
      }
      const { message } = JSON.parse(text ?? '{}') as { message?: unknown }
      for (const member of members) {
        void member({ type: 'websocket.send', text: JSON.stringify({ message, user: null }) })
      }
    } else if (event.type === 'websocket.disconnect') {
      members?.delete(send)
      return
    }
  }
}

const server = createServer(app, [`tcp:port=${port}:interface=127.0.0.1`])
await server.start()
console.log(`server-only listening on ${port}`)
process.on('SIGINT', () => void server.stop().then(() => process.exit(0)))
