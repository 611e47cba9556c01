/**
 * A WebSocket opening handshake on a bare TCP socket, for the load generator's `conn` mode: one
 * write of a fixed request, the response head read up to its blank line, the status and
 * `Sec-WebSocket-Accept` checked, and the socket kept open (anything the server sends after is
 * read and dropped).
 *
 * Why not the `ws` client there: it opens through node's HTTP client, which is slower. A slow
 * client leaves the server idle between handshakes, and every server then pays a wake-up per
 * handshake that a busy server does not: a constant added to every server's figure, which pulls
 * the ratios toward 1 (docs/performance.md has the rates).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
/** Longest response head accepted before giving up on a server. */
const MAX_HEAD = 16 * 1024

export interface RawHandshakeOptions {
  /** `ws://host:port/path?query` (no TLS). */
  url: string
  origin?: string
  localAddress?: string
  timeoutMs: number
}

/** The `Sec-WebSocket-Accept` a server must answer `key` with (RFC 6455 §4.2.2). */
export function acceptFor(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64')
}

/** What every handshake to one URL shares: where to connect and the request around the key. */
interface Target {
  url: string
  origin: string | undefined
  host: string
  port: number
  before: string
  after: string
}

let last: Target | null = null

function targetFor(url: string, origin: string | undefined): Target {
  if (last !== null && last.url === url && last.origin === origin) return last
  const parsed = new URL(url)
  if (parsed.protocol !== 'ws:') throw new TypeError(`raw handshakes need a ws:// URL, not ${url}`)
  const before = [
    `GET ${parsed.pathname}${parsed.search} HTTP/1.1`,
    `Host: ${parsed.host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: ',
  ].join('\r\n')
  const after = [
    '',
    'Sec-WebSocket-Version: 13',
    ...(origin === undefined ? [] : [`Origin: ${origin}`]),
    '',
    '',
  ].join('\r\n')
  last = { url, origin, host: parsed.hostname, port: Number(parsed.port || 80), before, after }
  return last
}

/** Open a WebSocket on a bare socket; resolves once the server said 101 with the right accept. */
export function rawHandshake(options: RawHandshakeOptions): Promise<net.Socket> {
  const target = targetFor(options.url, options.origin)
  const key = randomBytes(16).toString('base64')
  const request = target.before + key + target.after
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: target.host,
      port: target.port,
      localAddress: options.localAddress,
    })
    socket.setNoDelay(true)
    let head = ''
    const fail = (error: Error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(error)
    }
    const timer = setTimeout(() => fail(new Error('handshake timed out')), options.timeoutMs)
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) {
        if (head.length > MAX_HEAD) fail(new Error('response head too long'))
        return
      }
      socket.off('data', onData)
      socket.off('error', fail)
      socket.off('close', onClose)
      clearTimeout(timer)
      const status = head.slice(0, head.indexOf('\r\n'))
      if (!/^HTTP\/1\.1 101 /.test(status)) {
        fail(new Error(`Unexpected server response: ${status}`))
        return
      }
      const accept = /\r\nsec-websocket-accept:[ \t]*([^\r\n]*)/i.exec(head.slice(0, end + 2))
      if (accept?.[1]?.trim() !== acceptFor(key)) {
        fail(new Error('wrong or missing Sec-WebSocket-Accept'))
        return
      }
      // Frames the server sends later (a greeting, pings) are read and dropped.
      socket.on('data', () => {})
      socket.on('error', () => {})
      resolve(socket)
    }
    const onClose = () => fail(new Error('connection closed during the handshake'))
    socket.on('data', onData)
    socket.once('error', fail)
    socket.once('close', onClose)
    socket.once('connect', () => socket.write(request))
  })
}
