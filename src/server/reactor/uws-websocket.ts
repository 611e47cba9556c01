/**
 * uWebSockets.js WebSocket adaptor: the deferred upgrade (the app decides before the handshake),
 * the per-socket user data that points at the server's `WebSocketHandlers` (handlers called with
 * no lookup), and `ReactorWebSocket` over a uWS socket, whose sends are written once per
 * event-loop turn (`SendBatch`).
 * @module
 */
import type {
  AcceptOptions,
  ReactorWebSocket,
  ResponseHead,
  SendResult,
  UpgradeResponder,
  WebSocketHandlers,
} from './types.js'
import type { UwsContext, UwsHttpResponse, UwsWebSocket, UwsWebSocketBehavior } from './uws-api.js'
import { uwsScope } from './uws-api.js'
import { latin1Bytes, writeHead } from './uws-http.js'
import { safeHead, safeHeaders } from './response-head.js'
import { isSendableCloseCode, truncateCloseReason } from './close-frame.js'
import type { SlotList, Slotted } from '../../util/slot-list.js'

/**
 * What each uWS socket carries: our wrapper, which holds the server's handlers. One property:
 * uWS copies the user data's properties onto its socket object, one C++ call pair each.
 */
export interface UwsUserData {
  socket: UwsSocket
}

/**
 * Text frames and close reasons decode straight from uWS memory, with no Buffer view in between.
 * `ignoreBOM` keeps a leading U+FEFF as the peer sent it, as `Buffer#toString` does.
 */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true })

/** uWS `send` results: written, queued behind unsent data, and (our own) not queued at all. */
const SUCCESS: SendResult = 1
const BACKPRESSURE: SendResult = 0
const DROPPED: SendResult = 2

/**
 * Most bytes a socket holds for the end of the turn (string length counts UTF-16 units, a lower
 * bound of its UTF-8 size): uWS's cork buffer, which one cork writes in one syscall. A message
 * that would take a socket past it is written at once, after what the socket holds.
 */
const HOLD_LIMIT = 16 * 1024

/**
 * The sockets holding messages, written once per event-loop turn (`setImmediate`).
 *
 * Written at once, every WebSocket message is one `sendto`: a group send to N members makes N
 * per message. Held until the turn ends, each socket's messages go out together, one syscall per
 * socket per turn however many messages the turn sent it, as uWS's own `publish` drains its
 * topics once per loop iteration. A busy server gains the most: the more messages a turn
 * carries, the fewer writes per message. A socket sent one message a turn (an echo reply) still
 * gets one plain send, at the end of the turn instead of at once.
 */
export class SendBatch {
  #sockets: UwsSocket[] = []
  #scheduled = false

  /** `socket` just began holding messages: write them when this turn ends. */
  add(socket: UwsSocket): void {
    this.#sockets.push(socket)
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(this.#flush)
  }

  readonly #flush = (): void => {
    this.#scheduled = false
    // A socket that begins holding during the flush waits for the next turn's.
    const sockets = this.#sockets
    this.#sockets = []
    for (const socket of sockets) socket.flush()
  }
}

/** What every socket of a behaviour shares: the reactor's send-buffer options and batch. */
export interface UwsSocketLimits {
  /** Queued bytes past which `send` drops messages; 0 = no limit. */
  maxBackpressure: number
  /** How long a closing socket may go without its client reading before it is cut off. */
  closeTimeout: number
  /** Where sends are held until the turn ends; null writes each send at once. */
  batch: SendBatch | null
}

/** A close held back until the data queued before it is written (see `UwsSocket.close`). */
interface Lingering {
  timer: NodeJS.Timeout
  /** Bytes still queued when the timer was last armed. */
  queued: number
}

/**
 * `ReactorWebSocket` over one uWS socket; every call after close is a no-op. Made when the
 * server accepts, given its uWS socket when that opens.
 *
 * uWS itself is given no send limit: a close frame it would drop over `maxBackpressure` never
 * reaches a slow client, so the limit is kept here, and close frames always get queued.
 *
 * With a batch, a send is held until the turn ends and reported SUCCESS while the client keeps
 * up: held bytes are bounded by HOLD_LIMIT and reach the kernel this turn, so they are not
 * backpressure (as bytes held by a cork are not), though `bufferedAmount` counts them. Once uWS
 * queues data for the socket (its client is behind), each send is written at once again, and
 * backpressure and `maxBackpressure` are judged as without a batch.
 */
export class UwsSocket implements ReactorWebSocket, Slotted {
  #ws!: UwsWebSocket<UwsUserData>
  #limits!: UwsSocketLimits
  #batch: SendBatch | null = null
  /** The server was told the connection ended; sends are dropped from then on. */
  closed = false
  /** uWS ran its close handler: the uWS socket must not be touched any more. */
  #gone = false
  /** Index in the reactor's open-socket list. */
  slot = -1
  /** What our own `close()` sent, reported to onClose instead of uWS's view of it. */
  sentClose: { code: number; reason: string } | null = null
  /** The last write was queued behind unsent data: look at the queue before the next one. */
  #pressured = false
  /** Messages held for the batch's flush, in order, and their size as HOLD_LIMIT counts it. */
  #held: (string | Uint8Array)[] | null = null
  #heldSize = 0
  #lingering: Lingering | null = null

  constructor(readonly handlers: WebSocketHandlers) {}

  /** The uWS socket, once open, and the behaviour's limits. */
  attach(ws: UwsWebSocket<UwsUserData>, limits: UwsSocketLimits): void {
    this.#ws = ws
    this.#limits = limits
    this.#batch = limits.batch
  }

  send(data: string | Uint8Array): SendResult {
    if (this.closed) return DROPPED
    const batch = this.#batch
    if (batch !== null && !this.#pressured) {
      const size = typeof data === 'string' ? data.length : data.byteLength
      if (this.#heldSize + size <= HOLD_LIMIT) {
        const held = this.#held
        if (held === null) {
          this.#held = [data]
          batch.add(this)
        } else {
          held.push(data)
        }
        this.#heldSize += size
        return SUCCESS
      }
    }
    this.flush()
    return this.#write(data)
  }

  /** Write one message now; DROPPED when uWS already queues more than `maxBackpressure`. */
  #write(data: string | Uint8Array): SendResult {
    const ws = this.#ws
    // Only a socket already behind reads its queue: the usual send makes one native call.
    if (this.#pressured) {
      const queued = ws.getBufferedAmount()
      const max = this.#limits.maxBackpressure
      if (max > 0 && queued > max) return DROPPED
      this.#pressured = queued > 0
    }
    // No cork outside a uWS callback either: for one message uWS writes it with the same single
    // syscall, and (unlike HttpResponse) its WebSocket prints no warning for uncorked writes.
    const result = ws.send(data, typeof data !== 'string') as SendResult
    if (result === BACKPRESSURE) this.#pressured = true
    return result
  }

  /** Write the held messages: one with a plain send, several in one cork (one syscall). */
  flush(): void {
    const held = this.#held
    if (held === null) return
    this.#held = null
    this.#heldSize = 0
    if (held.length === 1) this.#writeHeld(held[0]!)
    else this.#ws.cork(() => this.#writeAllHeld(held))
  }

  #writeAllHeld(held: (string | Uint8Array)[]): void {
    for (const data of held) this.#writeHeld(data)
  }

  /** A held message was already accepted: it is written whatever uWS queues. */
  #writeHeld(data: string | Uint8Array): void {
    if (this.#ws.send(data, typeof data !== 'string') === BACKPRESSURE) this.#pressured = true
  }

  close(code: number, reason = ''): void {
    if (this.closed) return
    // A code no close frame may carry gets a frame without a status, as the peer will see it.
    this.sentClose = isSendableCloseCode(code)
      ? { code, reason: truncateCloseReason(reason) }
      : { code: 1005, reason: '' }
    // The held messages were accepted before the close: they go out first.
    this.flush()
    const queued = this.#ws.getBufferedAmount()
    // Nothing queued: uWS sends the frame now and runs the close handler synchronously, which
    // marks us closed and tells the server.
    if (queued === 0) return this.#end()
    // uWS would queue the frame behind the data and end the connection once all is written, but
    // with no timeout: a client that never reads would keep the socket and its buffer forever.
    // So the frame waits for the queue to drain (`drained`), and the client must keep reading.
    this.closed = true
    this.#lingering = { queued, timer: setTimeout(this.#checkLingering, this.#limits.closeTimeout) }
    this.handlers.onClose(this.sentClose.code, this.sentClose.reason)
  }

  /** Cut a lingering close off unless its client read something since the last look. */
  readonly #checkLingering = (): void => {
    const lingering = this.#lingering
    if (lingering === null || this.#gone) return
    const queued = this.#ws.getBufferedAmount()
    if (queued < lingering.queued) {
      lingering.queued = queued
      lingering.timer = setTimeout(this.#checkLingering, this.#limits.closeTimeout)
    } else {
      this.#ws.close()
    }
  }

  /** uWS wrote some of the queue; a lingering close goes out once all of it is written. */
  drained(): void {
    if (this.#lingering !== null && this.#ws.getBufferedAmount() === 0) this.#end()
  }

  #end(): void {
    const { code, reason } = this.sentClose!
    if (code === 1005) this.#ws.end()
    else this.#ws.end(code, reason)
  }

  /** uWS's close handler ran: the socket is gone; tell the server unless it already knows. */
  ended(code: number, message: ArrayBuffer): void {
    this.#gone = true
    // Held messages have no connection left to go to (the batch skips this socket).
    this.#held = null
    this.#heldSize = 0
    if (this.#lingering !== null) clearTimeout(this.#lingering.timer)
    this.#lingering = null
    if (this.closed) return
    this.closed = true
    const sent = this.sentClose
    if (sent) this.handlers.onClose(sent.code, sent.reason)
    // Most close frames carry no reason: skip the decode for those.
    else this.handlers.onClose(code, message.byteLength === 0 ? '' : decodeReason(message))
  }

  terminate(): void {
    // Also cuts off a lingering close (`stop()` terminates every socket still in the list).
    // uWS runs the close handler at once: `ended` drops what the socket holds.
    if (!this.#gone) this.#ws.close()
  }

  ping(): void {
    if (this.closed) return
    // After the messages sent before it, as the peer would see them without a batch.
    this.flush()
    this.#ws.ping()
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.#ws.getBufferedAmount() + heldBytes(this.#held)
  }

  cork(fn: () => void): void {
    if (this.closed) return fn()
    uwsScope.depth++
    try {
      this.#ws.cork(fn)
    } finally {
      uwsScope.depth--
    }
  }
}

/** The UTF-8 size of held messages (only read when the server asks how much is queued). */
function heldBytes(held: readonly (string | Uint8Array)[] | null): number {
  if (held === null) return 0
  let bytes = 0
  for (const data of held)
    bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
  return bytes
}

/** Accept headers ready for `writeHeader`: names, and values as uWS-safe latin-1. */
type WireHeaders = readonly (readonly [string, string | Uint8Array])[]

/** `safeHeaders` (no header can split the 101), values as latin-1 bytes for uWS. */
function wireHeaders(headers: NonNullable<AcceptOptions['headers']>): WireHeaders {
  return safeHeaders({ status: 101, headers }).map(
    ([name, value]) => [name, latin1Bytes(value)] as const,
  )
}

/** A pending upgrade: uWS's `res` and `context` are kept until the server decides. */
export class UwsUpgradeResponder implements UpgradeResponder {
  readonly #res: UwsHttpResponse
  readonly #key: string
  readonly #context: UwsContext
  #done = false
  #aborted = false
  #onAborted: (() => void) | null = null
  /** The reactor's in-flight set: we are in it until answered or aborted (no closure each). */
  readonly #pending: Set<{ destroy(): void }>

  constructor(
    res: UwsHttpResponse,
    key: string,
    context: UwsContext,
    pending: Set<{ destroy(): void }>,
  ) {
    this.#res = res
    this.#key = key
    this.#context = context
    this.#pending = pending
  }

  /**
   * Called as the uWS upgrade handler returns: an upgrade still undecided (the app answers
   * later) must hear of an abort, and `stop()` must be able to drop it. One the server decided
   * during the handler (a consumer that accepts in `connect()` without awaiting anything does)
   * needs neither: no onAborted closure, no bookkeeping.
   */
  leaveHandler(): void {
    if (this.#done) return
    const pending = this.#pending
    pending.add(this)
    this.#res.onAborted(() => {
      if (this.#done) return
      this.#done = true
      this.#aborted = true
      pending.delete(this)
      const callback = this.#onAborted
      this.#onAborted = null
      callback?.()
    })
  }

  onAborted(callback: () => void): void {
    if (this.#aborted) callback()
    else this.#onAborted = callback
  }

  /** Drop the connection as if the client left (`onAborted` fires); used by `stop()`. */
  destroy(): void {
    if (!this.#done) this.#res.close()
  }

  accept(options: AcceptOptions, handlers: WebSocketHandlers): void {
    if (this.#done) return
    const headers =
      options.headers === undefined || options.headers.length === 0
        ? null
        : wireHeaders(options.headers)
    this.#done = true
    this.#pending.delete(this)
    const data: UwsUserData = { socket: new UwsSocket(handlers) }
    const protocol = options.subprotocol ?? ''
    // Inside a uWS callback the response is corked already.
    if (uwsScope.depth > 0) this.#upgrade(data, protocol, headers)
    else this.#res.cork(() => this.#upgrade(data, protocol, headers))
  }

  #upgrade(data: UwsUserData, protocol: string, headers: WireHeaders | null): void {
    const res = this.#res
    // Extra headers need the 101 status written first, or uWS writes "200 OK" for them.
    if (headers !== null) {
      res.writeStatus('101 Switching Protocols')
      for (const [name, value] of headers) res.writeHeader(name, value)
    }
    // No extensions: compression is off, so permessage-deflate is never negotiated.
    res.upgrade(data, this.#key, protocol, '', this.#context)
  }

  reject(head: ResponseHead, body?: Uint8Array): void {
    if (this.#done) return
    const safe = safeHead(head)
    this.#done = true
    this.#pending.delete(this)
    const res = this.#res
    res.cork(() => {
      writeHead(res, safe, { closing: true })
      res.end(body ?? '', true)
    })
  }
}

/** Options for the uWS `ws` behaviour. */
export interface UwsBehaviorOptions extends UwsSocketLimits {
  maxPayloadLength: number
  compression: number
  /** The uWS `upgrade` callback (validation + hand-off to the server). */
  upgrade: UwsWebSocketBehavior<UwsUserData>['upgrade']
  /** Every open socket, so `stop()` can end them. */
  sockets: SlotList<UwsSocket>
}

/** The `app.ws('/*', …)` behaviour: uWS events go straight to the socket's handlers. */
export function createBehavior(options: UwsBehaviorOptions): UwsWebSocketBehavior<UwsUserData> {
  const { sockets } = options
  const limits: UwsSocketLimits = {
    maxBackpressure: options.maxBackpressure,
    closeTimeout: options.closeTimeout,
    batch: options.batch,
  }
  return {
    maxPayloadLength: options.maxPayloadLength,
    // Kept by UwsSocket instead: uWS would drop close frames over it too.
    maxBackpressure: 0,
    // The server runs its own ping/timeout policy (Daphne's ping_interval/ping_timeout).
    idleTimeout: 0,
    sendPingsAutomatically: false,
    compression: options.compression,
    closeOnBackpressureLimit: false,
    upgrade: options.upgrade,
    open(ws) {
      const socket = ws.getUserData().socket
      socket.attach(ws, limits)
      sockets.add(socket)
      uwsScope.depth++
      try {
        socket.handlers.onOpen(socket)
      } finally {
        uwsScope.depth--
      }
    },
    message(ws, message, isBinary) {
      const socket = ws.getUserData().socket
      // A lingering close: the server already heard the end of this connection.
      if (socket.closed) return
      const handlers = socket.handlers
      uwsScope.depth++
      try {
        // Exactly one copy each: decode straight from uWS memory, or copy the bytes out.
        if (isBinary) handlers.onBinary(Buffer.from(new Uint8Array(message)))
        else handlers.onText(UTF8.decode(message))
      } finally {
        uwsScope.depth--
      }
    },
    drain(ws) {
      const socket = ws.getUserData().socket
      if (socket.closed) return socket.drained()
      uwsScope.depth++
      try {
        socket.handlers.onDrain()
      } finally {
        uwsScope.depth--
      }
    },
    pong(ws) {
      const socket = ws.getUserData().socket
      if (socket.closed) return
      uwsScope.depth++
      try {
        socket.handlers.onPong()
      } finally {
        uwsScope.depth--
      }
    },
    close(ws, code, message) {
      const socket = ws.getUserData().socket
      sockets.delete(socket)
      socket.ended(code, message)
    },
  }
}

function decodeReason(message: ArrayBuffer): string {
  return UTF8.decode(message)
}
