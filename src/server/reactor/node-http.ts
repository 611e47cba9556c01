/**
 * node:http adaptor: a request head from an `IncomingMessage`, and `HttpResponder` over a
 * `ServerResponse`. Node picks Content-Length or chunked framing from the headers it is given.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { HttpResponder, ReactorRequest, ResponseHead } from './types.js'
import {
  bodyForbidden,
  declaredLength,
  headerText,
  reasonPhrase,
  safeHead,
  wantsClose,
} from './response-head.js'

const EMPTY = new Uint8Array(0)
/** How long a connection closed with its request body unread waits for the client to leave. */
const LINGER_MS = 5_000

/**
 * Close a connection whose request body was left unread gently. Node would reset it at once
 * (`destroySoon`: unread bytes make the close a reset), and a client still sending meets the
 * reset before it has read the answer (a 413, say). Instead: FIN after the response, go on not
 * reading, and destroy the socket after LINGER_MS (as uWS does after its idle timeout).
 */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = () => {
    socket.end()
    const timer = setTimeout(() => socket.destroy(), LINGER_MS)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  }
}

/** A peer/local address, with IPv4-mapped IPv6 (`::ffff:1.2.3.4`) shown as plain IPv4. */
function address(host: string | undefined, port: number | undefined) {
  if (host === undefined || port === undefined) return null
  return { host: host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host, port }
}

/** Copy a request head out of node's `IncomingMessage` (names lower-cased, arrival order). */
export function nodeRequest(req: IncomingMessage, tls: boolean): ReactorRequest {
  const raw = req.rawHeaders
  const headers: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push(raw[i]!.toLowerCase(), raw[i + 1]!)
  const socket = req.socket
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    httpVersion: req.httpVersion,
    headers,
    remote: address(socket.remoteAddress, socket.remotePort),
    local: address(socket.localAddress, socket.localPort),
    tls,
  }
}

/** Flatten a head's headers for `writeHead` (node accepts `[k, v, k, v, …]`). */
export function flatHeaders(head: ResponseHead): string[] {
  const flat: string[] = []
  for (const [name, value] of head.headers) flat.push(name, headerText(value))
  return flat
}

/** Write a complete HTTP/1.1 response straight to a raw socket and close it (upgrade refusals). */
export function writeRawResponse(
  socket: Socket,
  unsafeHead: ResponseHead,
  body: Uint8Array | string,
): void {
  const head = safeHead(unsafeHead)
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  let text = `HTTP/1.1 ${head.status} ${reasonPhrase(head)}\r\n`
  let hasConnection = false
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase()
    if (lower === 'content-length' || lower === 'transfer-encoding') continue
    if (lower === 'connection') hasConnection = true
    text += `${name}: ${headerText(value)}\r\n`
  }
  text += `Date: ${new Date().toUTCString()}\r\n`
  if (!hasConnection) text += 'Connection: close\r\n'
  text += `Content-Length: ${bytes.byteLength}\r\n\r\n`
  socket.end(Buffer.concat([Buffer.from(text, 'latin1'), bytes]))
  // Do not wait for the peer's FIN forever.
  socket.once('finish', () => socket.destroySoon())
}

/** `HttpResponder` over a node `ServerResponse`. */
export class NodeHttpResponder implements HttpResponder {
  readonly #req: IncomingMessage
  readonly #res: ServerResponse
  #head: ResponseHead | null = null
  #started = false
  #done = false
  #aborted = false
  #onAborted: (() => void) | null = null
  #onWritable: (() => void) | null = null
  #watching = false
  /** Bytes still owed under a declared Content-Length (null: chunked or no body). */
  #remaining: number | null = null
  /** Reading the request body is paused (flow control, or a body left unread). */
  #paused = false

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#req = req
    this.#res = res
    res.on('close', () => {
      if (this.#done) return
      this.#done = true
      this.#aborted = true
      const callback = this.#onAborted
      this.#onAborted = null
      callback?.()
    })
  }

  onData(callback: (chunk: Uint8Array, last: boolean) => void): void {
    // Node allocates each body chunk afresh, so it may be held across `await` without a copy.
    this.#req.on('data', (chunk: Buffer) => callback(chunk, false))
    this.#req.on('end', () => callback(EMPTY, true))
  }

  pause(): void {
    // The parser stops the socket once the request's own buffer is full.
    this.#paused = true
    this.#req.pause()
  }

  resume(): void {
    this.#paused = false
    this.#req.resume()
  }

  onAborted(callback: () => void): void {
    if (this.#aborted) callback()
    else this.#onAborted = callback
  }

  writeHead(head: ResponseHead): void {
    // safeHead throws TypeError on a bad header name, before anything is sent.
    if (!this.#done && !this.#started) this.#head = safeHead(head)
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done) return true
    this.#start()
    const data = this.#fit(chunk)
    if (data.byteLength === 0) return true
    const ok = this.#res.write(data)
    if (!ok) this.#watchDrain()
    return ok
  }

  onWritable(callback: () => void): void {
    this.#onWritable = callback
  }

  end(chunk?: Uint8Array): void {
    if (this.#done) return
    if (!this.#started) {
      // Nothing written yet: one `end` gives a Content-Length response, not a chunked one
      // (what uWS does too).
      const head = this.#head ?? { status: 200, headers: [] }
      const hasLength = head.headers.some(([name]) => name.toLowerCase() === 'content-length')
      if (!hasLength && !bodyForbidden(this.#req.method ?? 'GET', head.status)) {
        const length = String(chunk?.byteLength ?? 0)
        this.#head = { ...head, headers: [...head.headers, ['Content-Length', length]] }
      }
    }
    this.#start()
    const data = chunk === undefined ? undefined : this.#fit(chunk)
    // The app ended before sending all it declared: a short body cannot be repaired, drop it.
    if (this.#remaining !== null && this.#remaining > 0) return this.abort()
    this.#done = true
    if (this.#paused && this.#head !== null && wantsClose(this.#head)) {
      lingerOnClose(this.#req.socket)
    }
    this.#res.end(data)
  }

  abort(): void {
    if (this.#done) return
    // Our own abort is not the client's: the server is not told through onAborted.
    this.#done = true
    this.#res.destroy()
  }

  /** Drop the connection as if the client left (`onAborted` fires); used by `stop()`. */
  destroy(): void {
    if (!this.#done) this.#res.destroy()
  }

  cork(fn: () => void): void {
    if (this.#done) return fn()
    this.#res.cork()
    try {
      fn()
    } finally {
      this.#res.uncork()
    }
  }

  /** Cut a chunk to what the declared Content-Length still allows (node would send it all). */
  #fit(chunk: Uint8Array): Uint8Array {
    if (this.#remaining === null) return chunk
    const data = chunk.byteLength > this.#remaining ? chunk.subarray(0, this.#remaining) : chunk
    this.#remaining -= data.byteLength
    return data
  }

  #start(): void {
    if (this.#started) return
    this.#started = true
    const head = this.#head ?? { status: 200, headers: [] }
    if (!bodyForbidden(this.#req.method ?? 'GET', head.status)) {
      this.#remaining = declaredLength(head)
    }
    this.#res.writeHead(head.status, reasonPhrase(head), flatHeaders(head))
  }

  #watchDrain(): void {
    if (this.#watching) return
    this.#watching = true
    this.#res.on('drain', () => {
      const callback = this.#onWritable
      this.#onWritable = null
      if (!this.#done) callback?.()
    })
  }
}
