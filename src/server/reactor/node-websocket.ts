/**
 * `ws` adaptor for the node reactor: a deferred upgrade (`handleUpgrade` runs only once the
 * server accepted) and `ReactorWebSocket` over a `ws` WebSocket.
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import type {
  AcceptOptions,
  ReactorWebSocket,
  ResponseHead,
  SendResult,
  UpgradeResponder,
  WebSocketHandlers,
} from './types.js'
import { writeRawResponse } from './node-http.js'
import { isSendableCloseCode, truncateCloseReason } from './close-frame.js'
import { safeHeaders } from './response-head.js'

const SUCCESS: SendResult = 1
const BACKPRESSURE: SendResult = 0
const DROPPED: SendResult = 2

/** The options a request was accepted with, read back by `ws` while it answers the handshake. */
const acceptOptions = new WeakMap<IncomingMessage, AcceptOptions>()

/** One `ws` server (no HTTP server of its own) shared by every listener of a reactor. */
export function createWebSocketServer(maxPayload: number): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload,
    // Only called when the client offered subprotocols; false means "none chosen".
    handleProtocols: (_offered, req) => acceptOptions.get(req)?.subprotocol ?? false,
  })
  wss.on('headers', (headers, req) => {
    const extra = acceptOptions.get(req)?.headers
    if (extra !== undefined) for (const [name, value] of extra) headers.push(`${name}: ${value}`)
  })
  return wss
}

/** `ReactorWebSocket` over `ws`; every call after close is a no-op. */
export class NodeSocket implements ReactorWebSocket {
  readonly #ws: WebSocket
  readonly #socket: Socket
  readonly #handlers: WebSocketHandlers
  readonly #maxBackpressure: number
  readonly #closeTimeout: number
  #closed = false
  /** ws reported the TCP connection gone. */
  #gone = false
  #closeTimer: NodeJS.Timeout | null = null
  /** Inside `cork`: bytes held by the cork are not backpressure; what was queued before is. */
  #corkDepth = 0
  #corkBase = 0

  constructor(
    ws: WebSocket,
    socket: Socket,
    handlers: WebSocketHandlers,
    maxBackpressure: number,
    closeTimeout: number,
    onGone: () => void,
  ) {
    this.#ws = ws
    this.#socket = socket
    this.#handlers = handlers
    this.#maxBackpressure = maxBackpressure
    this.#closeTimeout = closeTimeout
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // ws hands over a fresh Buffer per message: no copy needed to keep it.
      if (isBinary) handlers.onBinary(data)
      else handlers.onText(data.toString('utf8'))
    })
    ws.on('pong', () => handlers.onPong())
    // Protocol errors (oversized message, invalid UTF-8) are followed by 'close'.
    ws.on('error', () => undefined)
    ws.on('close', (code: number, reason: Buffer) => {
      // Only now is the TCP connection gone; a closing socket stays tracked for `stop()`.
      this.#gone = true
      if (this.#closeTimer !== null) clearTimeout(this.#closeTimer)
      onGone()
      this.#closedWith(code, reason.toString())
    })
    socket.on('drain', () => {
      if (!this.#closed) handlers.onDrain()
    })
  }

  send(data: string | Uint8Array): SendResult {
    if (this.#closed) return DROPPED
    const ws = this.#ws
    if (this.#maxBackpressure > 0 && ws.bufferedAmount > this.#maxBackpressure) return DROPPED
    ws.send(data, { binary: typeof data !== 'string' })
    const buffered = this.#corkDepth > 0 ? this.#corkBase : ws.bufferedAmount
    return buffered > 0 ? BACKPRESSURE : SUCCESS
  }

  close(code: number, reason = ''): void {
    if (this.#closed) return
    // Like uWS: the server hears about its own close at once, with what was sent.
    // ws queues the close frame behind the data already queued.
    if (isSendableCloseCode(code)) {
      const text = truncateCloseReason(reason)
      this.#ws.close(code, text)
      this.#closedWith(code, text)
    } else {
      // A code no close frame may carry: send one without a status, as the peer will see it.
      this.#ws.close()
      this.#closedWith(1005, '')
    }
    this.#watchClosing(this.#ws.bufferedAmount)
  }

  /**
   * ws gives a closing connection 30 s, reading or not, before it ends it. Here a client that
   * still reads what was queued keeps its connection; one that read nothing (or did not answer
   * the close) for `closeTimeout` is cut off, and its buffer with it.
   */
  #watchClosing(queued: number): void {
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = null
      if (this.#gone) return
      const now = this.#ws.bufferedAmount
      if (now > 0 && now < queued) this.#watchClosing(now)
      else this.#ws.terminate()
    }, this.#closeTimeout)
  }

  terminate(): void {
    // Also cuts off a closing connection still flushing (the server heard of its end already).
    if (!this.#gone) this.#ws.terminate()
    this.#closedWith(1006, '')
  }

  ping(): void {
    if (!this.#closed) this.#ws.ping()
  }

  bufferedAmount(): number {
    return this.#closed ? 0 : this.#ws.bufferedAmount
  }

  cork(fn: () => void): void {
    if (this.#closed) return fn()
    if (this.#corkDepth++ === 0) this.#corkBase = this.#ws.bufferedAmount
    this.#socket.cork()
    try {
      fn()
    } finally {
      this.#corkDepth--
      this.#socket.uncork()
    }
  }

  /** End the TCP connection even if a close handshake is under way (`stop()`). */
  destroy(): void {
    this.#ws.terminate()
    this.#closedWith(1006, '')
  }

  #closedWith(code: number, reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.#handlers.onClose(code, reason)
  }
}

/** What a node upgrade needs to finish: the ws server and where to register the socket. */
export interface NodeUpgradeContext {
  wss: WebSocketServer
  maxBackpressure: number
  closeTimeout: number
  sockets: Set<NodeSocket>
  onFinish: () => void
}

/** A pending upgrade on the node reactor: the raw socket waits until the server decides. */
export class NodeUpgradeResponder implements UpgradeResponder {
  readonly #req: IncomingMessage
  readonly #socket: Socket
  readonly #head: Buffer
  readonly #context: NodeUpgradeContext
  /** Bytes the client sent while we decided (read to notice its FIN), replayed on accept. */
  readonly #early: Buffer[] = []
  readonly #onEarly = (chunk: Buffer) => void this.#early.push(chunk)
  #done = false
  #aborted = false
  #onAborted: (() => void) | null = null

  constructor(req: IncomingMessage, socket: Socket, head: Buffer, context: NodeUpgradeContext) {
    this.#req = req
    this.#socket = socket
    this.#head = head
    this.#context = context
    const gone = () => {
      if (this.#done) return
      this.#done = true
      context.onFinish()
      this.#abort()
    }
    socket.on('close', gone)
    socket.on('error', gone)
    // http.Server sockets allow half-open connections, and a paused socket never reports its
    // FIN: read while the server decides so a client that leaves is noticed.
    socket.on('end', this.#onEnd)
    socket.on('data', this.#onEarly)
    socket.resume()
  }

  readonly #onEnd = () => {
    this.#socket.destroy()
  }

  /** Stop watching the socket before `ws` (or our refusal) takes it over. */
  #release(): void {
    this.#socket.off('data', this.#onEarly)
    this.#socket.off('end', this.#onEnd)
  }

  onAborted(callback: () => void): void {
    if (this.#aborted) callback()
    else this.#onAborted = callback
  }

  #abort(): void {
    if (this.#aborted) return
    this.#aborted = true
    const callback = this.#onAborted
    this.#onAborted = null
    callback?.()
  }

  accept(options: AcceptOptions, handlers: WebSocketHandlers): void {
    if (this.#done) return
    const headers =
      options.headers === undefined
        ? undefined
        : safeHeaders({ status: 101, headers: options.headers })
    this.#done = true
    const { wss, sockets, maxBackpressure, closeTimeout, onFinish } = this.#context
    onFinish()
    acceptOptions.set(this.#req, headers === undefined ? options : { ...options, headers })
    const socket = this.#socket
    // handleUpgrade attaches ws's own 'data' listener synchronously: nothing is lost between.
    this.#release()
    const head = this.#early.length === 0 ? this.#head : Buffer.concat([this.#head, ...this.#early])
    // If the socket dies before the handshake completes (ws gives up silently on a socket that
    // is already closing), the server still hears about it: as an abort.
    let opened = false
    socket.once('close', () => opened || this.#abort())
    wss.handleUpgrade(this.#req, socket, head, (ws) => {
      opened = true
      const wrapped: NodeSocket = new NodeSocket(
        ws,
        socket,
        handlers,
        maxBackpressure,
        closeTimeout,
        () => sockets.delete(wrapped),
      )
      sockets.add(wrapped)
      handlers.onOpen(wrapped)
    })
  }

  reject(head: ResponseHead, body?: Uint8Array): void {
    if (this.#done) return
    this.#done = true
    this.#context.onFinish()
    this.#release()
    writeRawResponse(this.#socket, head, body ?? '')
  }

  /** Drop the connection as if the client left (`onAborted` fires); used by `stop()`. */
  destroy(): void {
    if (!this.#done) this.#socket.destroy()
  }
}
