/**
 * Channels' `AsyncHttpConsumer`, with working long-poll/SSE responses (channels#1747).
 * @module
 */
import { stopConsumer } from './stop-consumer.js'
import type {
  ChannelMessage,
  HttpDisconnectEvent,
  HttpRequestEvent,
  HttpResponseBodyEvent,
  HttpScope,
} from '../asgi/types.js'
import { AsyncConsumer } from './consumer.js'
import { toHeaderPairs, type HeadersInit } from './header-bytes.js'

export type { HeadersInit } from './header-bytes.js'

const EMPTY = new Uint8Array(0)

function toBody(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  const what = body === null ? 'null' : typeof body
  throw new TypeError(`Response body must be a string or Uint8Array, got ${what}`)
}

/**
 * Collects the request body, calls `handle(body)`, then `disconnect()` (always) and stops.
 *
 * Streaming and long-poll: if `handle()` returns while a streamed body is open (it sent a chunk
 * with `moreBody: true` and no final one), the consumer keeps running, so channel-layer events
 * still reach their handlers, until a later `sendBody(..., { moreBody: false })` finishes the
 * response or the client disconnects; then `disconnect()` runs and it stops. In Channels the
 * consumer stops as soon as `handle()` returns (channels#1747).
 */
export class AsyncHttpConsumer extends AsyncConsumer {
  /** The HTTP request scope (`method`, `path`, `headers`, `query_string`…). */
  declare scope: HttpScope
  /** Request body chunks received so far. */
  body: Uint8Array[] = []

  #handled = false
  #streaming = false
  #finished = false
  #disconnected = false

  /** Start the response (`http.response.start`). */
  sendHeaders(options: { status?: number; headers?: HeadersInit } = {}): Promise<void> {
    const { status = 200, headers } = options
    return this.send({
      type: 'http.response.start',
      status,
      headers: headers === undefined || headers === null ? [] : toHeaderPairs(headers),
    })
  }

  /** Send a body chunk (a string is UTF-8 encoded); `moreBody: true` keeps the response open. */
  sendBody(body: string | Uint8Array, options: { moreBody?: boolean } = {}): Promise<void> {
    const moreBody = options.moreBody ?? false
    const message: HttpResponseBodyEvent = {
      type: 'http.response.body',
      body: toBody(body),
      more_body: moreBody,
    }
    if (moreBody) this.#streaming = true
    else this.#finished = true
    return this.send(message)
  }

  /** Headers, then the whole body, in one call. */
  async sendResponse(
    status: number,
    body: string | Uint8Array,
    options: { headers?: HeadersInit } = {},
  ): Promise<void> {
    await this.sendHeaders({ status, headers: options.headers })
    await this.sendBody(body)
  }

  /** Answer the request. Subclasses must override it. */
  handle(_body: Uint8Array): void | Promise<void> {
    throw new Error('Subclasses of AsyncHttpConsumer must provide a handle() method.')
  }

  /** Called once when the request is over (answered, failed or abandoned). */
  disconnect(): void | Promise<void> {}

  /** `http.request`: buffer chunks; on the last one run `handle()`. */
  async http_request(message: HttpRequestEvent): Promise<void> {
    if (message.body !== undefined && message.body.length > 0) this.body.push(message.body)
    if (message.more_body) return
    const body =
      this.body.length === 1
        ? this.body[0]!
        : this.body.length === 0
          ? EMPTY
          : Buffer.concat(this.body)
    try {
      await this.handle(body)
    } catch (error) {
      await this.#disconnectOnce()
      throw error
    }
    this.#handled = true
    // A streamed response still open: keep dispatching until it is finished (channels#1747).
    if (this.#streaming && !this.#finished) return
    await this.#disconnectOnce()
    throw stopConsumer()
  }

  /** `http.disconnect`: the client left (or the server finished): `disconnect()` and stop. */
  async http_disconnect(_message: HttpDisconnectEvent): Promise<void> {
    await this.#disconnectOnce()
    throw stopConsumer()
  }

  override dispatch(message: ChannelMessage): void | Promise<void> {
    const result = super.dispatch(message)
    if (!this.#handled) return result
    // After handle() returned with an open stream: stop once a handler finished the body.
    if (result === undefined) return this.#stopIfFinished()
    return result.then(() => this.#stopIfFinished())
  }

  #stopIfFinished(): void | Promise<void> {
    if (!this.#finished) return
    return this.#disconnectOnce().then(() => {
      throw stopConsumer()
    })
  }

  async #disconnectOnce(): Promise<void> {
    if (this.#disconnected) return
    this.#disconnected = true
    await this.disconnect()
  }
}
