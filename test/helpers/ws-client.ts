/**
 * Clients for real-socket server tests: raw node:net exchanges where bytes matter (handshakes,
 * hand-built frames), and a small promise wrapper around the `ws` client otherwise.
 * @module
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import WebSocket, { type ClientOptions } from 'ws'

/** A raw TCP (or unix) connection that collects everything it receives. */
export interface RawConnection {
  socket: net.Socket
  /** Everything received so far. */
  received(): Buffer
  write(data: string | Uint8Array): void
  /** Resolves with all bytes once `predicate(received)` holds (or rejects after `timeout`). */
  until(predicate: (data: Buffer) => boolean, timeout?: number): Promise<Buffer>
  /** Resolves when the server ended the connection, with all bytes received. */
  closed: Promise<Buffer>
  destroy(): void
}

/** Open a raw connection to `port` on 127.0.0.1 (or a unix `path`). */
export function connectRaw(target: number | { path: string }): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket =
      typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect(target.path)
    const chunks: Buffer[] = []
    let waiters: (() => void)[] = []
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      for (const waiter of waiters) waiter()
    })
    const closed = new Promise<Buffer>((done) =>
      socket.on('close', () => done(Buffer.concat(chunks))),
    )
    socket.on('error', () => undefined)
    socket.once('connect', () => {
      const connection: RawConnection = {
        socket,
        received: () => Buffer.concat(chunks),
        write: (data) => void socket.write(data),
        until(predicate, timeout = 5_000) {
          return new Promise((done, fail) => {
            const check = () => {
              const data = Buffer.concat(chunks)
              if (predicate(data)) {
                clearTimeout(timer)
                waiters = waiters.filter((w) => w !== check)
                done(data)
              }
            }
            const timer = setTimeout(() => {
              waiters = waiters.filter((w) => w !== check)
              fail(
                new Error(
                  `timed out waiting; received: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`,
                ),
              )
            }, timeout)
            waiters.push(check)
            socket.once('close', check)
            check()
          })
        },
        closed,
        destroy: () => socket.destroy(),
      }
      resolve(connection)
    })
    socket.once('error', reject)
  })
}

/** Send `data`, wait for the server to close the connection, return what it sent. */
export async function rawExchange(
  port: number,
  data: string | Uint8Array,
  timeout = 5_000,
): Promise<Buffer> {
  const connection = await connectRaw(port)
  connection.write(data)
  const timer = setTimeout(() => connection.destroy(), timeout)
  const result = await connection.closed
  clearTimeout(timer)
  return result
}

/**
 * Send a raw HTTP/1.1 request with `Connection: close` (so the server ends the connection) and
 * return the raw response. `lines` are extra header lines (latin-1, sent as given).
 */
export function rawHttp(
  port: number,
  method: string,
  target: string,
  lines: string[] = [],
  timeout = 5_000,
): Promise<Buffer> {
  const head = [
    `${method} ${target} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...lines,
  ].join('\r\n')
  return rawExchange(port, Buffer.from(`${head}\r\n\r\n`, 'latin1'), timeout)
}

/** Daphne's fixed test key and its accept value. */
export const WS_KEY = 'x3JJHMbDL1EzLkh9GBhXDw=='

/** A WebSocket upgrade request as raw text. */
export function handshakeRequest(
  path: string,
  headers: Record<string, string> = {},
  version = '13',
): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${WS_KEY}`,
    `Sec-WebSocket-Version: ${version}`,
    'Origin: http://example.com',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ]
  return `${lines.join('\r\n')}\r\n\r\n`
}

/** Encode one WebSocket frame (masked unless `mask: false`). */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array | string,
  { mask = true, fin = true } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload)
  const header: number[] = [(fin ? 0x80 : 0) | opcode]
  const maskBit = mask ? 0x80 : 0
  if (data.length < 126) header.push(maskBit | data.length)
  else if (data.length < 65536) header.push(maskBit | 126, data.length >> 8, data.length & 0xff)
  else {
    header.push(maskBit | 127, 0, 0, 0, 0)
    header.push(
      (data.length >>> 24) & 0xff,
      (data.length >>> 16) & 0xff,
      (data.length >>> 8) & 0xff,
      data.length & 0xff,
    )
  }
  if (!mask) return Buffer.concat([Buffer.from(header), data])
  const key = randomBytes(4)
  const masked = Buffer.from(data)
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (key[i % 4] as number)
  return Buffer.concat([Buffer.from(header), key, masked])
}

/** One decoded server frame. */
export interface Frame {
  opcode: number
  payload: Buffer
}

/** Decode the (unmasked) server frames in `data`, after the HTTP head if present. */
export function decodeFrames(data: Buffer): Frame[] {
  let offset = 0
  const headEnd = data.indexOf('\r\n\r\n')
  if (data.subarray(0, 5).toString() === 'HTTP/' && headEnd !== -1) offset = headEnd + 4
  const frames: Frame[] = []
  while (offset + 2 <= data.length) {
    const opcode = (data[offset] as number) & 0x0f
    let length = (data[offset + 1] as number) & 0x7f
    let start = offset + 2
    if (length === 126) {
      length = data.readUInt16BE(start)
      start += 2
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(start))
      start += 8
    }
    if (start + length > data.length) break
    frames.push({ opcode, payload: data.subarray(start, start + length) })
    offset = start + length
  }
  return frames
}

/** A `ws` client with awaitable messages and close. */
export interface TestClient {
  ws: WebSocket
  /** The next message (text as string, binary as Buffer). */
  next(timeout?: number): Promise<string | Buffer>
  closed: Promise<{ code: number; reason: string }>
  send(data: string | Buffer): void
  close(code?: number, reason?: string): void
}

/** Connect with the `ws` client; resolves once open, rejects on a refused handshake. */
export function openClient(
  url: string,
  protocols?: string | string[],
  options: ClientOptions = {},
): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options)
    const messages: (string | Buffer)[] = []
    const waiters: ((m: string | Buffer) => void)[] = []
    ws.on('message', (data, isBinary) => {
      const message = isBinary ? (data as Buffer) : (data as Buffer).toString('utf8')
      const waiter = waiters.shift()
      if (waiter) waiter(message)
      else messages.push(message)
    })
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.on('close', (code, reason) => done({ code, reason: reason.toString() })),
    )
    ws.on('error', (error) => reject(error))
    ws.on('unexpected-response', (_req, res) =>
      reject(new Error(`Unexpected server response: ${res.statusCode}`)),
    )
    ws.once('open', () =>
      resolve({
        ws,
        closed,
        send: (data) => ws.send(data),
        close: (code, reason) => ws.close(code, reason),
        next(timeout = 5_000) {
          const queued = messages.shift()
          if (queued !== undefined) return Promise.resolve(queued)
          return new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error('no message within timeout')), timeout)
            waiters.push((m) => {
              clearTimeout(timer)
              done(m)
            })
          })
        },
      }),
    )
  })
}
