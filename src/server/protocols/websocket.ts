/**
 * The ASGI WebSocket state machine, reactor-agnostic: one instance (and one app instance) per
 * connection. `websocket.connect` is queued before the handshake; the app's accept or close
 * decides between 101 and `403 Access denied`. Every event the app sends is checked and read
 * here, once, with the protocol rules of framework/asgi/websocket-protocol.ts (what each phase
 * allows, the payload, the close code, the error wording); consumers do not check it again.
 *
 * Deliberate differences from Daphne: accept `headers` are sent
 * (daphne#326); close `reason` is sent and every RFC-valid code is allowed (daphne#374); empty
 * text/bytes messages are sent, not dropped; the scope has `scheme` and `http_version`
 * (daphne#538); duplicate request headers stay separate pairs (as over HTTP) instead of being
 * joined with ','; an app that returns after accept gets its socket closed with 1000; an app
 * that returns before deciding gets 403 at once (Daphne waits for the handshake timeout).
 *
 * Choices where Daphne has none: an app that neither accepts nor closes within
 * min(websocketHandshakeTimeout, websocketConnectTimeout) is rejected with 403 and a warning
 * (autobahn aborts the TCP connection instead). The message size limit is enforced here, with
 * the reactor's own ceiling kept above it, so an oversized message gets close 1009 and never
 * reaches the app; a message past the reactor's ceiling ends the connection (uWS sends no close
 * frame).
 * Backpressure: `send()` never waits (Daphne's doesn't either); when the reactor had to queue a
 * message we note it (`backpressured`, cleared once drained) and report the queue to the
 * process-wide send budget. A client that does not read is closed with 1008 rather than left to
 * grow without bound or to silently lose messages: when the reactor refuses a send (more than
 * `websocketMaxBufferedBytes` queued), or when the budget is spent and it holds the most. The
 * close frame follows what is already queued, so a client that reads again still gets it.
 *
 * Memory and the hot paths: an idle WebSocket keeps this object, its scope and its receive
 * queue, so the object holds no derived strings (the client's `host:port` and the decoded path
 * are rebuilt when a line is logged), booleans share one flags field, and times are `clock()`
 * Smis.
 * Access events (and their Date) are only built when `onAction` is set. The send path allocates
 * nothing: the payload goes to the reactor as given (text stays a string) and `send()` returns
 * the shared resolved promise.
 * @module
 */
import { AsgiProtocolError } from '../../framework/asgi/errors.js'
import { SETTLED } from '../../framework/asgi/fast-path.js'
import {
  WS_1000_NORMAL_CLOSURE,
  WS_1001_GOING_AWAY,
  WS_1006_ABNORMAL_CLOSURE,
  WS_1008_POLICY_VIOLATION,
  WS_1009_MESSAGE_TOO_BIG,
  WS_1011_INTERNAL_ERROR,
} from '../../framework/asgi/status.js'
import type {
  Address,
  Application,
  WebSocketReceiveEvents,
  WebSocketScope,
} from '../../framework/asgi/types.js'
import {
  readClose,
  readPayload,
  readSubprotocol,
  WebsocketPhase,
  websocketSendType,
} from '../../framework/asgi/websocket-protocol.js'
import {
  SendResult,
  type AcceptOptions,
  type ReactorRequest,
  type ReactorWebSocket,
  type UpgradeResponder,
  type WebSocketHandlers,
} from '../reactor/types.js'
import {
  AppConnection,
  ASGI_INFO,
  clock,
  FIRST_PROTOCOL_FLAG,
  log,
  type ServerContext,
} from '../connection.js'
import { errorPage } from '../error-page.js'
import type { ConnectionEntry } from '../inspection.js'
import { buildScopeParts, describeClient, unquote } from '../request.js'
import { pathBytes } from '../shared-bytes.js'
import type { BufferHolder } from '../send-budget.js'
import { headerToString, validateHeader } from './headers.js'

const enum State {
  /** Handshake pending: the app decides. */
  Connecting,
  /** Accepted; the reactor has not opened the socket yet (sends are buffered). */
  Accepting,
  Open,
  /** The server sent a close frame (or rejected); waiting for the end. */
  Closing,
  Closed,
}

/** The protocol phase of a state: what the app may send in it. */
function phaseOf(state: State): WebsocketPhase {
  if (state === State.Connecting) return WebsocketPhase.Connecting
  return state <= State.Open ? WebsocketPhase.Open : WebsocketPhase.Closed
}

/** Connection flag bits: incoming traffic since the last sweep (cheaper than a clock read per
 * message), the idle timeout fired, the reactor reported backpressure and has not drained. */
const ACTIVE = FIRST_PROTOCOL_FLAG
const TIMED_OUT = FIRST_PROTOCOL_FLAG << 1
const BACKPRESSURED = FIRST_PROTOCOL_FLAG << 2

const EMPTY = Buffer.alloc(0)
const CONNECT: WebSocketReceiveEvents = Object.freeze({ type: 'websocket.connect' })

/**
 * The headers of the 101 from `websocket.accept`'s: `Server` first unless the app set one
 * (Daphne's 101 order), bytes or strings as strings.
 */
export function acceptHeaders(raw: unknown, serverName: string): [string, string][] {
  const headers: [string, string][] = serverName ? [['Server', serverName]] : []
  if (raw === undefined || raw === null) return headers
  let hasServer = false
  for (const pair of raw as Iterable<unknown>) {
    const [name, value] = pair as [unknown, unknown]
    const problem = validateHeader(name, value)
    if (problem !== null) throw new AsgiProtocolError(problem)
    const nameText = headerToString(name as string)
    if (nameText.length === 6 && nameText.toLowerCase() === 'server') hasServer = true
    headers.push([nameText, headerToString(value as string)])
  }
  if (hasServer && serverName) headers.shift()
  return headers
}

function anyQuoted(offered: string[]): boolean {
  for (let i = 0; i < offered.length; i++) if ((offered[i] as string).includes('%')) return true
  return false
}

/** One WebSocket connection and its application instance; it is also the reactor's handler set. */
export class WebSocketConnection
  extends AppConnection<WebSocketReceiveEvents>
  implements WebSocketHandlers, BufferHolder
{
  private state = State.Connecting
  /** Bytes queued for the client as last reported to the send budget. */
  queued = 0
  private socket: ReactorWebSocket | null = null
  private pending: (string | Uint8Array)[] | null = null
  private pendingClose: [number, string] | null = null
  private openedAt = 0
  private lastActive = 0
  private pingSentAt = 0
  private readonly rawPath: string
  /** The (possibly proxied) client; formatted only when something is logged. */
  private readonly client: Address
  private readonly subprotocols: string[]

  constructor(
    ctx: ServerContext,
    request: ReactorRequest,
    offered: string[],
    private upgrade: UpgradeResponder | null,
    app: Application,
  ) {
    super(ctx)
    const parts = buildScopeParts(request, ctx.config, ctx.scopeParts)
    this.rawPath = parts.rawPath
    this.client = parts.client
    // Daphne url-unquotes offered subprotocols; reuse the reactor's array when nothing is quoted.
    this.subprotocols = anyQuoted(offered) ? offered.map(unquote) : offered
    const forwarded = parts.forwardedScheme
    const scope: WebSocketScope = {
      type: 'websocket',
      asgi: ASGI_INFO,
      http_version: request.httpVersion,
      scheme:
        forwarded === null
          ? request.tls
            ? 'wss'
            : 'ws'
          : forwarded === 'https' || forwarded === 'wss'
            ? 'wss'
            : 'ws',
      path: parts.path,
      raw_path: pathBytes(parts.rawPath),
      query_string: parts.query ? Buffer.from(parts.query, 'latin1') : EMPTY,
      root_path: parts.rootPath,
      headers: parts.headers,
      client: parts.client,
      server: parts.server,
      subprotocols: this.subprotocols,
    }
    this.queue.push(CONNECT)
    this.emitAccess('connecting')
    this.run(app, scope)
  }

  /**
   * Called once `websocket.connect` went out (`queue.handOverNow()`) within the reactor's upgrade
   * callback: a handshake still undecided must hear of the client leaving. One decided already
   * (a consumer that accepts without awaiting) needs no abort callback, and none is made.
   */
  watchUpgrade(): void {
    this.upgrade?.onAborted(() => this.onUpgradeAborted())
  }

  label(): string {
    return `WebSocket ${this.rawPath}`
  }

  inspect(now: number): ConnectionEntry {
    const state = this.state
    return {
      id: this.id,
      protocol: 'websocket',
      path: this.rawPath,
      client: describeClient(this.client),
      state:
        state === State.Connecting
          ? 'connecting'
          : state === State.Closing
            ? 'closing'
            : state === State.Closed
              ? 'closed'
              : 'open',
      ageMs: now - this.connectedAt,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bufferedBytes: this.readQueued(),
      scope: this.scope,
      notes: this.notes,
    }
  }

  /** Close as the server: a close frame when open, 403 while the handshake is undecided. */
  closeByServer(code: number, reason: string): boolean {
    if (this.state === State.Connecting) {
      this.reject(403, 'Access denied')
      return true
    }
    if (this.state !== State.Open && this.state !== State.Accepting) return false
    log.info(`${this.labelWithClient()}: closed by the server (${code} ${reason})`)
    this.closeSocket(code, reason)
    return true
  }

  /** The connection and its client (`host:port`, `None` when unknown: Daphne's) for log lines. */
  private labelWithClient(): string {
    return `${this.label()} [${describeClient(this.client) ?? 'None'}]`
  }

  /** The reactor reported backpressure and has not drained yet. */
  get backpressured(): boolean {
    return (this.flags & BACKPRESSURED) !== 0
  }

  private emitAccess(action: 'connecting' | 'connected' | 'rejected' | 'disconnected'): void {
    // No access log (e.g. `-v 0`): build no event object, read no clock.
    if (this.ctx.config.onAction === null) return
    this.ctx.emit({
      protocol: 'websocket',
      action,
      path: unquote(this.rawPath),
      rawPath: this.rawPath,
      client: describeClient(this.client),
      time: new Date(),
    })
  }

  // ---- app → server ------------------------------------------------------------------------

  /**
   * One app → server event: the protocol (framework/asgi/websocket-protocol.ts) says whether it
   * may be sent now and reads it; a misuse rejects the app's `send()`.
   */
  protected handleSend(message: unknown): Promise<void> {
    try {
      const event = message as Record<string, unknown>
      const type = websocketSendType(phaseOf(this.state), message)
      if (type === 'websocket.send') {
        this.sendMessage(readPayload(event))
      } else if (type === 'websocket.accept') {
        this.accept(event)
      } else if (type === 'websocket.close') {
        if (this.state === State.Connecting) {
          this.reject(403, 'Access denied')
        } else {
          const [code, reason] = readClose(event)
          this.closeSocket(code, reason)
        }
      }
      // null: closing or closed, the client is gone or going; Daphne ignores late sends.
      return SETTLED
    } catch (error) {
      return Promise.reject(error)
    }
  }

  private accept(event: Record<string, unknown>): void {
    const options: Required<AcceptOptions> = {
      subprotocol: readSubprotocol(event, this.subprotocols),
      headers: acceptHeaders(event.headers, this.ctx.config.serverName),
    }
    const upgrade = this.upgrade as UpgradeResponder
    this.upgrade = null
    this.state = State.Accepting
    upgrade.accept(options, this)
  }

  /** Answer the handshake with an HTTP status instead of 101 (403 on app close, 500 on error). */
  private reject(status: number, reason: string, page?: string): void {
    const upgrade = this.upgrade
    if (upgrade === null) return
    this.upgrade = null
    if (page === undefined) {
      upgrade.reject({ status, reason, headers: [] })
    } else {
      const { head, body } = errorPage(status, page, this.ctx.config.serverName)
      upgrade.reject(head, body)
    }
    this.emitAccess('rejected')
    this.ended(WS_1006_ABNORMAL_CLOSURE, '')
  }

  private sendMessage(payload: string | Uint8Array): void {
    const socket = this.socket
    if (socket === null) {
      ;(this.pending ??= []).push(payload)
      return
    }
    this.write(socket, payload)
  }

  private write(socket: ReactorWebSocket, payload: string | Uint8Array): void {
    this.messagesOut++
    const result = socket.send(payload)
    if (result === SendResult.SUCCESS) return
    if (result === SendResult.BACKPRESSURE) {
      // The reactor keeps the data; we note it (onDrain clears it) and count it.
      this.flags |= BACKPRESSURED
      this.ctx.sendBudget.report(this, socket.bufferedAmount())
      return
    }
    // Closed meanwhile (the budget shed it while its pending messages went out): nothing to do.
    if (this.state !== State.Open) return
    // Over websocketMaxBufferedBytes: a client that does not read. Never drop silently.
    const max = this.ctx.config.websocketMaxBufferedBytes
    log.warn(
      `${this.labelWithClient()}: send buffer full (over ${max} bytes), ` +
        'closing the connection with 1008',
    )
    this.closeSocket(WS_1008_POLICY_VIOLATION, 'Send buffer full')
  }

  readQueued(): number {
    return this.state === State.Open ? (this.socket as ReactorWebSocket).bufferedAmount() : 0
  }

  /** The send budget is spent and this client holds the most of it. */
  shed(): void {
    const budget = this.ctx.config.websocketBufferBudget
    log.warn(
      `${this.labelWithClient()}: server send buffers full (over ${budget} bytes) and ` +
        `${this.queued} of them queued here, closing the connection with 1008`,
    )
    this.closeSocket(WS_1008_POLICY_VIOLATION, 'Server send buffers full')
  }

  private closeSocket(code: number, reason: string): void {
    if (this.state === State.Accepting) {
      this.pendingClose = [code, reason]
      return
    }
    if (this.state !== State.Open) return
    this.state = State.Closing
    this.socket?.close(code, reason)
  }

  // ---- reactor → server --------------------------------------------------------------------

  onOpen(socket: ReactorWebSocket): void {
    if (this.state !== State.Accepting) {
      socket.terminate()
      return
    }
    this.socket = socket
    this.state = State.Open
    this.openedAt = this.lastActive = clock()
    this.emitAccess('connected')
    const pending = this.pending
    this.pending = null
    if (pending !== null)
      socket.cork(() => {
        for (const payload of pending) this.write(socket, payload)
      })
    const close = this.pendingClose
    if (close !== null) {
      this.pendingClose = null
      this.closeSocket(close[0], close[1])
    }
  }

  onText(text: string): void {
    if (this.state !== State.Open) return
    this.flags |= ACTIVE
    const limit = this.ctx.config.websocketMaxMessageSize
    // A UTF-16 unit is 1–3 UTF-8 bytes: only count bytes when the length alone can't decide.
    if (
      limit !== 0 &&
      (text.length > limit || (text.length * 3 > limit && Buffer.byteLength(text) > limit))
    ) {
      return this.tooBig()
    }
    this.messagesIn++
    this.queue.push({ type: 'websocket.receive', text })
  }

  onBinary(data: Uint8Array): void {
    if (this.state !== State.Open) return
    this.flags |= ACTIVE
    const limit = this.ctx.config.websocketMaxMessageSize
    if (limit !== 0 && data.byteLength > limit) return this.tooBig()
    this.messagesIn++
    const bytes = Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    this.queue.push({ type: 'websocket.receive', bytes })
  }

  private tooBig(): void {
    const max = this.ctx.config.websocketMaxMessageSize
    log.info(`${this.labelWithClient()}: message over ${max} bytes, closing with 1009`)
    this.closeSocket(WS_1009_MESSAGE_TOO_BIG, 'Message too big')
  }

  onDrain(): void {
    const queued = this.readQueued()
    if (queued === 0) this.flags &= ~BACKPRESSURED
    if (this.queued !== 0) this.ctx.sendBudget.update(this, queued)
  }

  onPong(): void {
    this.flags |= ACTIVE
  }

  onClose(code: number, reason: string): void {
    if (this.state === State.Closed) return
    if (
      this.state === State.Open &&
      (code === 1002 || code === 1007 || code === 1009 || (code === 1006 && reason))
    ) {
      // Protocol violations the reactor caught (unmasked frame, bad UTF-8, over its ceiling).
      const detail = reason ? `${code}: ${reason}` : `${code}`
      log.info(`${this.labelWithClient()}: connection ended abnormally (${detail})`)
    }
    this.socket = null
    this.ended(code, reason)
  }

  private onUpgradeAborted(): void {
    if (this.upgrade === null) return
    this.upgrade = null
    this.ended(WS_1006_ABNORMAL_CLOSURE, '')
  }

  private ended(code: number, reason: string): void {
    this.state = State.Closed
    this.pending = null
    if (this.queued !== 0) this.ctx.sendBudget.update(this, 0)
    this.queue.push(
      reason
        ? { type: 'websocket.disconnect', code, reason }
        : { type: 'websocket.disconnect', code },
    )
    this.emitAccess('disconnected')
    this.markDisconnected()
  }

  // ---- app lifecycle and housekeeping ------------------------------------------------------

  protected onAppError(): void {
    if (this.state === State.Connecting) this.reject(500, 'Internal server error')
    else this.closeSocket(WS_1011_INTERNAL_ERROR, '')
  }

  /**
   * No route: refused like a consumer's close before accept (403, logged REJECT). A browser
   * sees only a failed connection whatever the status, and 403 is the one refusal ASGI defines.
   */
  protected onRouteNotFound(): void {
    if (this.state === State.Connecting) this.reject(403, 'Access denied')
    else this.onAppError()
  }

  protected onAppReturn(): void {
    if (this.state === State.Connecting) {
      log.error(`ASGI callable returned without accepting or closing ${this.label()}.`)
      this.reject(403, 'Access denied')
    } else {
      // Nobody is left to read its messages (Daphne keeps it open until the client leaves).
      this.closeSocket(WS_1000_NORMAL_CLOSURE, '')
    }
  }

  protected check(now: number): void {
    const config = this.ctx.config
    if (this.state === State.Connecting) {
      const limit = Math.min(config.websocketHandshakeTimeout, config.websocketConnectTimeout)
      if (now - this.connectedAt > limit) {
        log.warn(
          `${this.labelWithClient()}: the application neither accepted nor closed the handshake ` +
            `within ${limit} ms; rejecting it.`,
        )
        this.reject(403, 'Access denied')
      }
      return
    }
    if (this.state !== State.Open) return
    const socket = this.socket as ReactorWebSocket
    if (
      config.websocketTimeout !== null &&
      (this.flags & TIMED_OUT) === 0 &&
      now - this.openedAt > config.websocketTimeout
    ) {
      this.flags |= TIMED_OUT
      this.closeSocket(WS_1000_NORMAL_CLOSURE, '')
      return
    }
    if ((this.flags & ACTIVE) !== 0) {
      this.flags &= ~ACTIVE
      this.lastActive = now
      this.pingSentAt = 0
    }
    if (this.pingSentAt !== 0) {
      if (now - this.pingSentAt > config.pingTimeout) {
        const limit = config.pingTimeout
        log.info(`${this.labelWithClient()}: no answer to ping within ${limit} ms, dropping it`)
        socket.terminate()
      }
    } else if (now - this.lastActive >= config.pingInterval) {
      this.pingSentAt = now
      socket.ping()
    }
  }

  shutdown(): void {
    if (this.state === State.Connecting)
      this.reject(503, 'Service Unavailable', 'The server is shutting down.')
    else this.closeSocket(WS_1001_GOING_AWAY, 'Server shutting down')
  }
}
