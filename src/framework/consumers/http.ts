/**
 * Channels' `AsyncHttpConsumer`, with working long-poll/SSE responses (channels#1747).
 * @module
 */
import { sendErrorPage } from '../asgi/error-response.js'
import { getHeader } from '../asgi/headers.js'
import { getLogger } from '../asgi/logging.js'
import { getSettings } from '../settings/index.js'
import { stopConsumer } from './stop-consumer.js'
import type {
  ChannelMessage,
  HttpDisconnectEvent,
  HttpRequestEvent,
  HttpResponseBodyEvent,
  HttpScope,
} from '../asgi/types.js'
import { AsyncConsumer } from './consumer.js'
import type { ConsumerScope, ConsumerTypes } from './typed-messages.js'
import { toHeaderPairs, type HeadersInit } from './header-bytes.js'
import { describeValue } from '../../util/describe.js'

export type { HeadersInit } from './header-bytes.js'

const EMPTY = new Uint8Array(0)
const securityLog = getLogger('channels.security.RequestDataTooBig')

function toBody(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  throw new TypeError(`Response body must be a string or Uint8Array, got ${describeValue(body)}`)
}

/**
 * Collects the request body, calls `handle(body)`, then `disconnect()` (always) and stops.
 *
 * The body it collects is limited to settings.DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MiB by
 * default): a request that declares a bigger Content-Length, or whose body grows past it, is
 * answered 413 (Django answers 400) before anything more is buffered, and `handle()` does not
 * run. A consumer made for big bodies sets `dataUploadMaxMemorySize` (null: no limit), or
 * overrides `http_request` to take the chunks as they arrive instead of buffering them.
 *
 * Streaming and long-poll: if `handle()` returns while a streamed body is open (it sent a chunk
 * with `moreBody: true` and no final one), the consumer keeps running, so channel-layer events
 * still reach their handlers, until a later `sendBody(..., { moreBody: false })` finishes the
 * response or the client disconnects; then `disconnect()` runs and it stops. In Channels the
 * consumer stops as soon as `handle()` returns (channels#1747).
 */
export class AsyncHttpConsumer<
  Types extends ConsumerTypes = ConsumerTypes,
> extends AsyncConsumer<Types> {
  /** The HTTP request scope (`method`, `path`, `headers`, `query_string`…). */
  declare scope: ConsumerScope<HttpScope, Types>
  /** Request body chunks received so far. */
  body: Uint8Array[] = []
  /**
   * This consumer's limit on the body it buffers, in bytes; null: none. Unset, it is
   * settings.DATA_UPLOAD_MAX_MEMORY_SIZE (read per request).
   */
  declare dataUploadMaxMemorySize?: number | null

  /** Body bytes buffered so far; -1 before the first chunk. */
  #size = -1

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
      // null from a JavaScript caller means no headers, like undefined.
      headers: headers === undefined || (headers as unknown) === null ? [] : toHeaderPairs(headers),
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

  /** `http.request`: buffer chunks (up to the limit); on the last one run `handle()`. */
  async http_request(message: HttpRequestEvent): Promise<void> {
    // ASGI lets a server leave `body` out of an empty chunk.
    const chunk = message.body as Uint8Array | undefined
    const limit = this.#limit()
    if (this.#size < 0) {
      this.#size = 0
      // Django refuses a declared Content-Length over the limit before reading any of it.
      if (limit !== null && declaredLength(this.scope) > limit) return this.#tooLarge(limit)
    }
    if (chunk !== undefined && chunk.length > 0) {
      this.#size += chunk.length
      if (limit !== null && this.#size > limit) return this.#tooLarge(limit)
      this.body.push(chunk)
    }
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

  #limit(): number | null {
    const own = this.dataUploadMaxMemorySize
    const limit = own !== undefined ? own : getSettings().DATA_UPLOAD_MAX_MEMORY_SIZE
    return typeof limit === 'number' && limit >= 0 ? limit : null
  }

  /** Over the limit: drop what was buffered, answer 413 (the server closes the connection). */
  async #tooLarge(limit: number): Promise<void> {
    this.body = []
    securityLog.warn(
      `Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE (${limit} bytes): ` +
        `${this.scope.method} ${this.scope.path}`,
    )
    try {
      await sendErrorPage(this.send.bind(this), 413, 'Payload Too Large (413)')
    } finally {
      await this.#disconnectOnce()
    }
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

/** The request's Content-Length, or -1 when it has none (or an unreadable one). */
function declaredLength(scope: Pick<HttpScope, 'headers'>): number {
  const value = getHeader(scope.headers, 'content-length')
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return -1
  return Number(value)
}
