/**
 * uWebSockets.js HTTP adaptor: `HttpResponder` over a uWS `HttpResponse`. uWS only guarantees
 * body ArrayBuffers during the callback (uNetworking/uWebSockets.js discussion #493), and prints
 * a warning for any write made outside a corked callback, so every chunk is copied and every
 * write goes through `res.cork`.
 * @module
 */
import type { HttpResponder, ResponseHead } from './types.js'
import type { UwsHttpResponse } from './uws-api.js'
import { uwsScope } from './uws-api.js'
import { NON_ASCII } from './uws-request.js'
import {
  bodyForbidden,
  declaredLength,
  reasonPhrase,
  safeHead,
  wantsClose,
} from './response-head.js'

/** An empty body chunk, shared. */
const EMPTY = new Uint8Array(0)

/** How `writeHead` treats the headers uWS may write itself. */
export interface HeadOptions {
  /** Body-less answer: the app's Content-Length goes out as given (uWS writes none). */
  keepLength?: boolean
  /** The response ends with `end(body, true)`, which writes its own `Connection: close`. */
  closing?: boolean
}

/**
 * Write status line and headers of a head already passed through `safeHead`. uWS writes its own
 * Date and framing headers, so the app's are dropped unless `options` says otherwise.
 */
export function writeHead(res: UwsHttpResponse, head: ResponseHead, options: HeadOptions = {}) {
  res.writeStatus(`${head.status} ${reasonPhrase(head)}`)
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase()
    // uWS always writes Date (no per-response switch), so an app's Date would be a duplicate.
    if (lower === 'date' || lower === 'transfer-encoding') continue
    if (lower === 'content-length' && !options.keepLength) continue
    if (lower === 'connection' && options.closing) continue
    res.writeHeader(name, latin1Bytes(value))
  }
}

/** uWS encodes JS strings as UTF-8; header bytes are latin-1, so non-ASCII goes in as bytes. */
export function latin1Bytes(value: string | Uint8Array): string | Uint8Array {
  return typeof value === 'string' && NON_ASCII.test(value) ? Buffer.from(value, 'latin1') : value
}

/** `HttpResponder` over one uWS `HttpResponse`; created inside the uWS request handler. */
export class UwsHttpResponder implements HttpResponder {
  readonly #res: UwsHttpResponse
  readonly #method: string
  /** Body chunks that arrived before the server subscribed, and whether the last one did. */
  #early: Uint8Array[] | null = []
  #earlyLast = false
  #onData: ((chunk: Uint8Array, last: boolean) => void) | null = null
  #onAborted: (() => void) | null = null
  #onWritable: (() => void) | null = null
  #aborted = false
  /** Finished or aborted: the uWS object must not be touched again. */
  #done = false
  #head: ResponseHead | null = null
  #started = false
  /** Declared Content-Length mode: total, bytes accepted by uWS, and chunks waiting to go. */
  #length: number | null = null
  #queued: Uint8Array[] = []
  #ending = false
  /** Every declared byte went out: uWS finished the response before the app's `end`. */
  #complete = false
  #close = false
  /** Reading the request body is paused (flow control, or a body left unread). */
  #paused = false
  #writableRegistered = false
  readonly #onFinish: () => void

  constructor(res: UwsHttpResponse, method: string, onFinish: () => void) {
    this.#res = res
    this.#method = method
    this.#onFinish = onFinish
    // Registered before the handler returns: uWS terminates the process otherwise.
    res.onAborted(() => this.#aborted_())
    res.onData((chunk, last) => {
      // The response is over: the server drops the rest of the body, so it is not copied.
      if (this.#done || this.#ending) return
      // One copy: uWS neuters the ArrayBuffer when this callback returns.
      const copy = chunk.byteLength === 0 ? EMPTY : Buffer.from(new Uint8Array(chunk))
      if (this.#onData !== null) this.#onData(copy, last)
      else {
        this.#early?.push(copy)
        if (last) this.#earlyLast = true
      }
    })
  }

  onData(callback: (chunk: Uint8Array, last: boolean) => void): void {
    this.#onData = callback
    const early = this.#early
    this.#early = null
    if (early === null) return
    for (let i = 0; i < early.length; i++) {
      callback(early[i]!, this.#earlyLast && i === early.length - 1)
    }
  }

  pause(): void {
    if (this.#done) return
    this.#paused = true
    this.#res.pause()
  }

  resume(): void {
    if (this.#done) return
    this.#paused = false
    this.#res.resume()
  }

  onAborted(callback: () => void): void {
    if (this.#aborted) callback()
    else this.#onAborted = callback
  }

  writeHead(head: ResponseHead): void {
    if (this.#done || this.#started) return
    head = safeHead(head) // throws TypeError on a bad header name, before anything is sent
    this.#head = head
    this.#length = bodyForbidden(this.#method, head.status) ? null : declaredLength(head)
    this.#close = wantsClose(head)
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done || this.#ending) return true
    let ok = true
    this.#cork(() => {
      this.#start()
      ok = this.#send(chunk)
    })
    return ok
  }

  onWritable(callback: () => void): void {
    this.#onWritable = callback
  }

  end(chunk?: Uint8Array): void {
    if (this.#done || this.#ending) return
    this.#ending = true
    this.#cork(() => {
      const head = this.#head ?? { status: 200, headers: [] }
      if (bodyForbidden(this.#method, head.status)) {
        if (!this.#started) writeHead(this.#res, head, { keepLength: true })
        this.#started = true
        // endWithoutBody(length) makes uWS 20.30 wait for that many bytes and stall the
        // connection (and any first argument counts as a length, even undefined), so a HEAD
        // response's length travels as a plain header instead.
        this.#finish(() => this.#res.endWithoutBody())
      } else if (this.#length !== null && !this.#closesWhole(chunk)) {
        this.#start()
        if (chunk !== undefined && chunk.byteLength > 0) this.#send(chunk)
        else this.#pump()
      } else if (!this.#started) {
        // Nothing written yet: one `end` gives a Content-Length response, not a chunked one.
        const close = this.#closesNow()
        writeHead(this.#res, head, { closing: close })
        this.#started = true
        this.#finish(() => this.#res.end(chunk ?? EMPTY, close))
      } else {
        // Never `end(…, true)` once streaming: uWS would write its Connection header into the
        // body. The app's own `Connection: close` went out with the head; the client closes.
        this.#finish(() => this.#res.end(chunk ?? EMPTY))
      }
    })
  }

  abort(): void {
    if (this.#done) return
    // Our own abort is not the client's: the server is not told through onAborted.
    this.#done = true
    this.#onFinish()
    this.#res.close()
  }

  /** Drop the connection as if the client left (`onAborted` fires); used by `stop()`. */
  destroy(): void {
    if (!this.#done) this.#res.close()
  }

  cork(fn: () => void): void {
    if (this.#done) fn()
    else this.#cork(fn)
  }

  #cork(fn: () => void): void {
    // Already corked (inside this socket's callback) uWS just runs fn.
    this.#res.cork(fn)
  }

  /**
   * Whether `end(…, true)` closes the socket right after a `Connection: close` response. Not
   * while reading is paused (a request body left unread): closing then resets the connection, and
   * a client still sending meets the reset before it reads the answer (a 413, say). The answer
   * goes out, the socket stays paused, and the client closes it, or uWS does when it has been
   * idle for its HTTP timeout (10 s).
   */
  #closesNow(): boolean {
    return this.#close && !this.#paused
  }

  /**
   * A whole `Connection: close` response in one `end`: `end(body, true)` closes the socket after
   * it (`tryEnd` never does), and its own Content-Length equals the declared one.
   */
  #closesWhole(chunk: Uint8Array | undefined): boolean {
    return this.#closesNow() && !this.#started && (chunk?.byteLength ?? 0) === this.#length
  }

  #start(): void {
    if (this.#started) return
    this.#started = true
    const head = this.#head ?? { status: 200, headers: [] }
    writeHead(this.#res, head, { keepLength: bodyForbidden(this.#method, head.status) })
  }

  /** Send (or queue) one body chunk; false when it is waiting for `onWritable`. */
  #send(chunk: Uint8Array): boolean {
    const head = this.#head
    if (head !== null && bodyForbidden(this.#method, head.status)) return true
    if (this.#length === null) {
      if (chunk.byteLength === 0) return true
      const ok = this.#res.write(chunk)
      if (!ok) this.#watchWritable()
      return ok
    }
    this.#queued.push(chunk)
    return this.#pump()
  }

  /**
   * Content-Length mode: `tryEnd` writes only what fits and keeps nothing, so unsent bytes stay
   * queued here until uWS says the socket is writable again.
   */
  #pump(): boolean {
    const total = this.#length!
    while (this.#queued.length > 0) {
      const chunk = this.#queued[0]!
      const before = this.#res.getWriteOffset()
      // Bytes past the declared length would corrupt the next response on this connection.
      const room = total - before
      const data = chunk.byteLength > room ? chunk.subarray(0, room) : chunk
      const [ok, done] = this.#res.tryEnd(data, total)
      if (done) {
        this.#queued = []
        this.#complete = true
        this.#finish(() => undefined)
        return true
      }
      if (!ok) {
        this.#queued[0] = data.subarray(this.#res.getWriteOffset() - before)
        this.#watchWritable()
        return false
      }
      this.#queued.shift()
    }
    if (this.#ending && !this.#done) {
      if (total === 0) this.#finish(() => this.#res.end(EMPTY, this.#close))
      // The app ended before sending all it declared: a short body cannot be repaired, drop it.
      else this.abort()
    }
    return true
  }

  #watchWritable(): void {
    if (this.#writableRegistered) return
    this.#writableRegistered = true
    this.#res.onWritable(() => {
      uwsScope.depth++
      try {
        const drained = this.#length === null || this.#pump()
        // A response completed by its last queued bytes still owes the app its callback, which
        // is where it will call `end()` (a no-op by then).
        if (drained && (!this.#done || this.#complete)) {
          const callback = this.#onWritable
          this.#onWritable = null
          callback?.()
        }
        return drained
      } finally {
        uwsScope.depth--
      }
    })
  }

  #finish(fn: () => void): void {
    this.#done = true
    fn()
    this.#onFinish()
  }

  #aborted_(): void {
    if (this.#done) return
    this.#aborted = true
    this.#done = true
    this.#onFinish()
    const callback = this.#onAborted
    this.#onAborted = null
    callback?.()
  }
}
