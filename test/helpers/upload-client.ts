/**
 * A raw HTTP upload client for request-body tests: it streams a large body with real socket
 * backpressure, reads the response while it writes, and reports how far it got.
 * @module
 */
import { createHash } from 'node:crypto'
import net from 'node:net'

/** Bytes per write; every write sends the same chunk (no memory grows with the body size). */
export const UPLOAD_CHUNK = 64 * 1024

/** The chunk every upload repeats: bytes 0..255 over and over. */
export const CHUNK_BYTES = Buffer.from(Array.from({ length: UPLOAD_CHUNK }, (_, i) => i % 256))

/** sha256 of `size` bytes of the repeated chunk, as the server should see them. */
export function uploadDigest(size: number): string {
  const hash = createHash('sha256')
  for (let sent = 0; sent < size; sent += UPLOAD_CHUNK) {
    hash.update(CHUNK_BYTES.subarray(0, Math.min(UPLOAD_CHUNK, size - sent)))
  }
  return hash.digest('hex')
}

/** The start of a parsed HTTP response. */
export interface ParsedResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/** Parse a complete `Content-Length` response (null until the whole of it arrived). */
export function parseResponse(data: Buffer): ParsedResponse | null {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return null
  const lines = data.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(lines[0]?.split(' ')[1])
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const length = Number(headers['content-length'] ?? 0)
  if (data.length < end + 4 + length) return null
  return { status, headers, body: data.subarray(end + 4, end + 4 + length) }
}

/** What an upload ended with. */
export interface UploadResult {
  /** The response, once complete; null if the connection ended without one. */
  response: ParsedResponse | null
  /** Body bytes handed to the socket before the client stopped. */
  sent: number
}

/** Options for {@link upload}. */
export interface UploadOptions {
  port: number
  path?: string
  method?: string
  /** Body size in bytes. */
  size: number
  /** Send `Transfer-Encoding: chunked` instead of a Content-Length. */
  chunked?: boolean
  headers?: Record<string, string>
  /** The Host header (default 127.0.0.1). */
  host?: string
  /** Called after every write that did not fit; the upload waits for what it returns. */
  onBlocked?: (sent: number, drained: Promise<void>) => Promise<void> | void
  /** Called once the whole body was handed to the socket. */
  onWritten?: () => void
  /** Give up after this long (a bound for a broken server, not a timing assertion). */
  timeout?: number
}

/**
 * Upload `size` bytes and collect the response. Writing stops as soon as a complete response
 * arrived or the connection ended. Like a browser, the client closes the connection once a
 * response came that says `Connection: close`, or answers a body sent in full; the result
 * resolves when the connection is closed.
 */
export function upload(options: UploadOptions): Promise<UploadResult> {
  const { port, size, chunked = false } = options
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const received: Buffer[] = []
    let response: ParsedResponse | null = null
    let sent = 0
    let ended = false
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`upload timed out after ${sent} bytes`))
    }, options.timeout ?? 60_000)
    socket.on('data', (chunk) => {
      received.push(chunk)
      response ??= parseResponse(Buffer.concat(received))
      if (response === null || ended) return
      if (/close/i.test(response.headers.connection ?? '')) socket.destroy()
      else if (sent >= size) socket.end()
    })
    socket.on('error', () => undefined)
    const closed = new Promise<void>((done) => socket.once('close', () => done()))
    socket.on('close', () => {
      ended = true
      clearTimeout(timer)
      response ??= parseResponse(Buffer.concat(received))
      resolve({ response, sent })
    })
    const head = [
      `${options.method ?? 'POST'} ${options.path ?? '/'} HTTP/1.1`,
      `Host: ${options.host ?? '127.0.0.1'}`,
      chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`,
      ...Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    ]
    const write = (data: Uint8Array | string): boolean => socket.write(data)
    const pump = async () => {
      write(`${head.join('\r\n')}\r\n\r\n`)
      while (sent < size && response === null && !socket.destroyed) {
        const n = Math.min(UPLOAD_CHUNK, size - sent)
        const data = CHUNK_BYTES.subarray(0, n)
        let fits: boolean
        if (chunked) {
          write(`${n.toString(16)}\r\n`)
          write(data)
          fits = write('\r\n')
        } else {
          fits = write(data)
        }
        sent += n
        if (fits) {
          // Like a browser or curl, read between writes: a server that answers early and closes
          // resets the connection, and a reset met by a write would lose the answer unread.
          await new Promise((next) => setImmediate(next))
        } else {
          const drained = Promise.race([
            new Promise<void>((done) => socket.once('drain', done)),
            closed,
          ])
          await (options.onBlocked ? options.onBlocked(sent, drained) : drained)
        }
      }
      if (sent >= size && chunked && !socket.destroyed) write('0\r\n\r\n')
      if (sent >= size) options.onWritten?.()
      if (sent >= size && response !== null && !socket.destroyed) socket.end()
    }
    socket.once('connect', () => void pump())
  })
}

/** Resolves true when `drained` settles within `ms`, else false (the writer is blocked). */
export function drainsWithin(drained: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    void drained.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}
