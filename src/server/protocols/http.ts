/**
 * The ASGI HTTP state machine, reactor-agnostic: one instance per request (keep-alive requests
 * each get their own app instance, as in Daphne). The body is streamed to the app as
 * `http.request` chunks as they arrive (Daphne buffers it all, then re-chunks by 8192 bytes);
 * the response follows Daphne's rules and error texts.
 *
 * Flow control (uvicorn's): the server holds at most about BODY_HIGH_WATER bytes of body the app
 * has not received yet; beyond that the reactor stops reading the socket until the app catches
 * up, so an app that reads slowly, or not at all, cannot make the server buffer a body without
 * bound. A response that ends before the request body was read closes the connection: the rest
 * of the body is never read (the reactor stops reading, and closes once the client has had time
 * to read the answer).
 * @module
 */
import { AsgiProtocolError, ValueError } from '../../framework/asgi/errors.js'
import { SETTLED } from '../../framework/asgi/fast-path.js'
import type { HttpReceiveEvent, HttpScope } from '../../framework/asgi/types.js'
import type { Application } from '../../framework/asgi/types.js'
import type { HttpResponder, ReactorRequest, ResponseHead } from '../reactor/types.js'
import {
  AppConnection,
  ASGI_INFO,
  clock,
  log,
  messageType,
  type ServerContext,
} from '../connection.js'
import { errorPage } from '../error-page.js'
import type { ConnectionEntry } from '../inspection.js'
import { buildScopeParts, describeClient } from '../request.js'
import { pathBytes } from '../shared-bytes.js'
import { describeValue } from '../../util/describe.js'
import { headerToString, validateHeader } from './headers.js'

const enum Phase {
  /** Waiting for `http.response.start`. */
  Waiting,
  /** Start received; nothing written yet (Daphne writes the head with the first body). */
  Started,
  /** Head written, body streaming. */
  Streaming,
  /** Response finished (or abandoned on timeout / error). */
  Finished,
}

const EMPTY = Buffer.alloc(0)
/** Headers by which the app already chose the framing itself. */
const FRAMING_HEADER = /^(content-length|transfer-encoding)$/i
const DISCONNECT: HttpReceiveEvent = Object.freeze({ type: 'http.disconnect' })
/** Unreceived body bytes above which the reactor stops reading (uvicorn's HIGH_WATER_LIMIT). */
export const BODY_HIGH_WATER = 64 * 1024

/** True when the request head announces a body (a non-zero Content-Length, or chunked). */
function announcesBody(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string
    if (name === 'transfer-encoding') return true
    if (name === 'content-length' && (headers[i + 1] as string).trim() !== '0') return true
  }
  return false
}

/** One HTTP request/response and its application instance. */
export class HttpConnection extends AppConnection<HttpReceiveEvent> {
  private phase = Phase.Waiting
  /** The client left before the response finished. */
  private aborted = false
  /** Ended by the server (timeout, error): later sends are ignored like after a disconnect. */
  private abandoned = false
  private status = 0
  private head: ResponseHead | null = null
  private noBody = false
  private bytesSent = 0
  private drainWaiter: (() => void) | null = null
  /** The request body has not been read to its end yet. */
  private bodyPending: boolean
  /** Body bytes queued since the app last emptied its queue. */
  private unread = 0
  /** The reactor was told to stop reading the body. */
  private paused = false
  private readonly method: string
  private readonly rawPath: string
  private readonly query: string | null
  private readonly path: string
  private readonly client: string | null

  constructor(
    ctx: ServerContext,
    request: ReactorRequest,
    private readonly response: HttpResponder,
    app: Application,
  ) {
    super(ctx)
    const parts = buildScopeParts(request, ctx.config, ctx.scopeParts)
    this.method = request.method
    this.rawPath = parts.rawPath
    this.query = parts.query
    this.path = parts.path
    this.client = describeClient(parts.client)
    this.bodyPending = announcesBody(request.headers)
    response.onAborted(() => this.onAborted())
    response.onData((chunk, last) => this.onBody(chunk, last))
    const scope: HttpScope = {
      type: 'http',
      asgi: ASGI_INFO,
      http_version: request.httpVersion,
      method: request.method,
      scheme: parts.forwardedScheme ?? (request.tls ? 'https' : 'http'),
      path: parts.path,
      raw_path: pathBytes(parts.rawPath),
      query_string: parts.query === null ? EMPTY : Buffer.from(parts.query, 'latin1'),
      root_path: parts.rootPath,
      headers: parts.headers,
      client: parts.client,
      server: parts.server,
    }
    this.run(app, scope)
  }

  label(): string {
    return `${this.method} ${this.rawPath}`
  }

  inspect(now: number): ConnectionEntry {
    const phase = this.phase
    return {
      id: this.id,
      protocol: 'http',
      path: this.rawPath,
      client: this.client,
      state: phase === Phase.Waiting ? 'connecting' : phase === Phase.Finished ? 'closed' : 'open',
      ageMs: now - this.connectedAt,
      messagesIn: 0,
      messagesOut: 0,
      bufferedBytes: 0,
      scope: this.scope,
      notes: this.notes,
    }
  }

  /** An HTTP request runs to its end or its timeout: the server does not cut one short. */
  closeByServer(): boolean {
    return false
  }

  private onBody(chunk: Uint8Array, last: boolean): void {
    if (last) this.bodyPending = false
    // Body left over after the response finished is dropped: the app already got http.disconnect.
    if (this.phase === Phase.Finished) return
    const body =
      chunk.byteLength === 0 ? EMPTY : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    this.queue.push({ type: 'http.request', body, more_body: !last })
    // Handed straight to a waiting receive: nothing is held for the app.
    if (last || this.size === 0) return
    this.unread += body.byteLength
    if (this.unread > BODY_HIGH_WATER && !this.paused) {
      this.paused = true
      this.response.pause()
    }
  }

  /** The app received everything queued: read on. */
  protected override emptied(): void {
    this.unread = 0
    this.resumeReading()
  }

  private resumeReading(): void {
    if (!this.paused) return
    this.paused = false
    this.response.resume()
  }

  /**
   * A whole response sent before the request body was read closes the connection: reading (or
   * buffering) the rest of an unwanted body, say one answered 413, would cost what the answer
   * saves. Reading stops here; the reactor closes the connection (after a grace period in
   * which the client reads the answer: a close with bytes unread is a reset). Otherwise, reading
   * resumes: a streamed response's end, or the body was read, keeps the connection.
   */
  private closeOrReadOn(head: ResponseHead | null): void {
    if (head === null || !this.bodyPending) return this.resumeReading()
    if (!head.headers.some(([name]) => name.toLowerCase() === 'connection')) {
      head.headers.push(['Connection', 'close'])
    }
    if (this.paused) return
    this.paused = true
    this.response.pause()
  }

  protected handleSend(message: unknown): Promise<void> {
    try {
      return this.respond(message)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Apply one `http.response.*` event from the app to the response (may throw). */
  private respond(message: unknown): Promise<void> {
    const type = messageType(message)
    if (type === '') throw new ValueError('Message has no type defined')
    if (this.aborted || this.abandoned) return SETTLED // the client is gone: Daphne ignores it
    if (type === 'http.response.start') {
      if (this.phase !== Phase.Waiting)
        throw new ValueError('HTTP response has already been started')
      this.start(message as Record<string, unknown>)
      return SETTLED
    }
    if (type === 'http.response.body') {
      if (this.phase === Phase.Waiting) {
        throw new ValueError('HTTP response has not yet been started but got http.response.body')
      }
      if (this.phase === Phase.Finished) {
        throw new AsgiProtocolError(
          `Unexpected ASGI message 'http.response.body' sent, after response already completed.`,
        )
      }
      return this.body(message as Record<string, unknown>)
    }
    throw new ValueError(`Cannot handle message type ${type}!`)
  }

  private start(message: Record<string, unknown>): void {
    const status = message.status
    if (status === undefined || status === null) {
      throw new ValueError('Specifying a status code is required for a Response message.')
    }
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) {
      const shown =
        typeof status === 'number' || typeof status === 'string' ? status : describeValue(status)
      throw new ValueError(`Invalid HTTP status code ${shown} in response start.`)
    }
    const headers: ResponseHead['headers'] = []
    let hasServer = false
    const raw = message.headers
    if (raw !== undefined && raw !== null) {
      for (const pair of raw as Iterable<unknown>) {
        const [name, value] = pair as [unknown, unknown]
        const problem = validateHeader(name, value)
        if (problem !== null) {
          // Daphne answers 500 before raising into the app.
          this.sendErrorPage(500, 'Exception inside application.')
          throw new ValueError(problem)
        }
        const nameText = headerToString(name as Uint8Array | string)
        if (nameText.length === 6 && nameText.toLowerCase() === 'server') hasServer = true
        headers.push([nameText, headerToString(value as Uint8Array | string)])
      }
    }
    if (!hasServer && this.ctx.config.serverName)
      headers.push(['Server', this.ctx.config.serverName])
    this.status = status
    this.noBody = this.method === 'HEAD' || status === 204 || status === 304 || status < 200
    this.head = { status, headers }
    this.phase = Phase.Started
  }

  private body(message: Record<string, unknown>): Promise<void> {
    let body = message.body as Uint8Array | undefined | null
    if (body === undefined || body === null) body = EMPTY
    else if (!(body instanceof Uint8Array)) {
      throw new ValueError(`Body expected to be a Uint8Array, but got ${describeValue(body)}.`)
    }
    const more = message.more_body === true
    const response = this.response
    // Set inside the cork callback, which control flow analysis does not follow.
    let writable = true as boolean
    response.cork(() => {
      const starting = this.phase === Phase.Started
      // A streamed response ending with the body unread: the reactor reads on, dropping it.
      if (!more) this.closeOrReadOn(starting ? this.head : null)
      if (starting) {
        const head = this.head as ResponseHead
        // A one-message response gets a Content-Length instead of chunked framing.
        if (!more && !this.noBody && !head.headers.some(([n]) => FRAMING_HEADER.test(n))) {
          head.headers.push(['Content-Length', String(body.byteLength)])
        }
        response.writeHead(head)
        this.phase = Phase.Streaming
      }
      if (this.noBody) {
        if (!more) response.end()
      } else if (more) {
        if (body.byteLength > 0) {
          this.bytesSent += body.byteLength
          writable = response.write(body)
        }
      } else {
        this.bytesSent += body.byteLength
        response.end(body.byteLength > 0 ? body : undefined)
      }
    })
    if (!more) {
      this.finish(true)
      return SETTLED
    }
    if (writable) return SETTLED
    // Real backpressure: the app's `await send()` waits until the reactor drained.
    return new Promise<void>((resolve) => {
      this.drainWaiter = resolve
      response.onWritable(() => this.drained())
    })
  }

  private drained(): void {
    const waiter = this.drainWaiter
    this.drainWaiter = null
    if (waiter) waiter()
  }

  /** The response is over: access log (unless abandoned), then `http.disconnect` for the app. */
  private finish(log: boolean): void {
    this.phase = Phase.Finished
    // No access log configured: build no event object, no Date.
    if (log && this.ctx.config.onAction !== null) {
      this.ctx.emit({
        protocol: 'http',
        action: 'complete',
        method: this.method,
        path: this.path,
        rawPath: this.rawPath,
        ...(this.query !== null ? { query: this.query } : {}),
        status: this.status,
        size: this.bytesSent,
        client: this.client,
        durationMs: clock() - this.connectedAt,
        time: new Date(),
      })
    }
    this.queue.push(DISCONNECT)
    this.markDisconnected()
  }

  private sendErrorPage(status: number, message: string): void {
    if (this.phase === Phase.Streaming || this.phase === Phase.Finished) return
    const page = errorPage(status, message, this.ctx.config.serverName)
    this.closeOrReadOn(page.head)
    this.response.cork(() => {
      this.response.writeHead(page.head)
      this.response.end(page.body)
    })
    this.status = status
    this.bytesSent = page.body.byteLength
    this.abandoned = true
    this.finish(true)
  }

  private onAborted(): void {
    if (this.phase === Phase.Finished || this.aborted) return
    this.aborted = true
    this.phase = Phase.Finished
    this.drained()
    this.queue.push(DISCONNECT)
    this.markDisconnected()
  }

  protected onAppError(): void {
    if (this.aborted || this.phase === Phase.Finished) return
    if (this.phase === Phase.Streaming) {
      // Never Daphne's checker-loop death: drop the stream without its terminating chunk.
      this.abandoned = true
      this.response.abort()
      this.finish(false)
      return
    }
    this.sendErrorPage(500, 'Exception inside application.')
  }

  protected onRouteNotFound(): void {
    if (this.aborted || this.phase !== Phase.Waiting) return this.onAppError()
    this.sendErrorPage(404, 'No route matches this path.')
  }

  protected onAppReturn(): void {
    if (this.aborted || this.phase === Phase.Finished) return
    log.error(`ASGI callable returned without completing the response to ${this.label()}.`)
    this.onAppError()
  }

  protected check(now: number): void {
    const limit = this.ctx.config.httpTimeout
    if (limit === null || this.phase === Phase.Finished || now - this.connectedAt <= limit) return
    if (this.phase === Phase.Streaming) {
      log.warn('Application timed out while sending response')
      this.abandoned = true
      this.resumeReading()
      this.response.end()
      this.finish(false)
      return
    }
    this.sendErrorPage(503, 'Application failed to respond within time limit.')
  }

  shutdown(): void {
    // In-flight requests are allowed to finish within applicationCloseTimeout.
  }
}
