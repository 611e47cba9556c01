/**
 * Baseline: the three benchmark endpoints on the `ws` package over node:http, written the
 * idiomatic way (a Set of sockets per chat room).
 *   node dist/bench/servers/raw-ws.js PORT
 */
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'

const port = Number(process.argv[2] ?? 8000)
const rooms = new Map<string, Set<WebSocket>>()

const http = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
})
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 1 << 20 })

wss.on('connection', (ws, req) => {
  const url = req.url ?? '/'
  if (!url.startsWith('/ws/chat/')) {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    return
  }
  const room = url.slice(9).replace(/\/$/, '')
  let members = rooms.get(room)
  if (!members) rooms.set(room, (members = new Set()))
  members.add(ws)
  ws.on('message', (data) => {
    // ws's default binaryType ('nodebuffer') hands over a Buffer.
    const { message } = JSON.parse((data as Buffer).toString()) as { message: unknown }
    const out = JSON.stringify({ message })
    for (const member of members) member.send(out)
  })
  ws.on('close', () => {
    members.delete(ws)
    if (members.size === 0) rooms.delete(room)
  })
})

http.listen(port, '127.0.0.1', () => console.log(`raw-ws listening on ${port}`))
