/**
 * Baseline: the three benchmark endpoints on raw uWebSockets.js, written the idiomatic way
 * (native topics for the chat room). This is what "raw uWS" means in the report's ratios.
 *   node dist/bench/servers/raw-uws.js PORT
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
// The benchmark's reference server imports uWS directly on purpose; the framework never does
// outside src/server/reactor/uws.ts.
const uws = require('uWebSockets.js') as typeof import('uWebSockets.js')

const port = Number(process.argv[2] ?? 8000)
const decoder = new TextDecoder()
interface Data {
  room: string | null
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
      if (room) ws.subscribe(`chat_${room}`)
    },
    message: (ws, message, isBinary) => {
      const { room } = ws.getUserData()
      if (!room) {
        ws.send(message, isBinary)
        return
      }
      const { message: text } = JSON.parse(decoder.decode(message)) as { message: unknown }
      app.publish(`chat_${room}`, JSON.stringify({ message: text }))
    },
  })
  .listen('127.0.0.1', port, (token) => {
    if (!token) {
      console.error(`raw-uws: cannot listen on ${port}`)
      process.exit(1)
    }
    console.log(`raw-uws listening on ${port}`)
  })
