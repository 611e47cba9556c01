/**
 * The event-loop abstraction the server runs on. A reactor listens on endpoints and turns socket
 * activity into calls on the server's handlers; the server answers through the small responder
 * interfaces below. `uws.ts` (uWebSockets.js) and `node.ts` (node:http + ws) implement it, and
 * `src/server` imports nothing but this file from `src/server/reactor`.
 *
 * Rules every implementation keeps:
 * - Everything handed to the server is already copied out of reactor-owned memory, so the server
 *   may hold it across `await`.
 * - A handler call never throws back into the reactor; the server catches its own errors.
 * - Calls on a responder after its connection ended are harmless no-ops.
 * @module
 */
import type { Endpoint } from '../endpoints/types.js'

export type ReactorName = 'uws' | 'node'

/** The address a listener actually bound (port 0 resolved to the real port). */
export type BoundAddress =
  | { kind: 'tcp' | 'ssl'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'fd'; fileno: number }

/** An HTTP request head, copied out of the reactor. */
export interface ReactorRequest {
  /** Exactly as sent (not upper-cased). */
  method: string
  /** The raw request target: path plus `?query`, still percent-encoded. */
  url: string
  /** `'1.1'` or `'1.0'`. */
  httpVersion: string
  /**
   * Flat `[name, value, name, value, …]` (no pair array per header): names lower-cased, values
   * latin-1 decoded, in arrival order, duplicates kept. Read it during the handler only.
   */
  headers: string[]
  /** Peer address; null for unix-socket peers. */
  remote: { readonly host: string; readonly port: number } | null
  /** Local address; null for unix sockets. */
  local: { host: string; port: number } | null
  /** True on a TLS listener. */
  tls: boolean
}

/** A status code and headers for an HTTP answer. Header names are sent as given. */
export interface ResponseHead {
  status: number
  /** Status line text; defaults to the standard reason phrase. */
  reason?: string
  headers: [name: string, value: string | Uint8Array][]
}

/** The server's handle on one in-flight HTTP request/response. */
export interface HttpResponder {
  /** Body chunks as they arrive; `last` is true on the final one (possibly empty). */
  onData(callback: (chunk: Uint8Array, last: boolean) => void): void
  /** Stop reading the request body (flow control); a chunk already read may still arrive. */
  pause(): void
  /** Read the request body again after `pause`. */
  resume(): void
  /** The client went away before the response finished. Called at most once. */
  onAborted(callback: () => void): void
  /**
   * Send the status line and headers. Without a `content-length` header the body is sent chunked
   * (HTTP/1.1). Nothing reaches the wire before the first `write`/`end`.
   */
  writeHead(head: ResponseHead): void
  /** Write a body chunk; false means the chunk was buffered (backpressure): wait for `onWritable`. */
  write(chunk: Uint8Array): boolean
  /** Called once when buffered data has drained after `write` returned false. */
  onWritable(callback: () => void): void
  /** Finish the response with an optional last chunk. */
  end(chunk?: Uint8Array): void
  /** Drop the connection without finishing the response (a broken streamed response). */
  abort(): void
  /** Run several writes as one syscall. */
  cork(fn: () => void): void
}

/** What the server wants to happen when a WebSocket upgrade is accepted. */
export interface AcceptOptions {
  /** The chosen subprotocol; echoed in `Sec-WebSocket-Protocol`. */
  subprotocol?: string | null
  /** Extra headers for the 101 response (Daphne ignores these; we send them). */
  headers?: [name: string, value: string][]
}

/** Per-connection callbacks the reactor calls after an accepted upgrade. */
export interface WebSocketHandlers {
  /** The handshake completed; from now on `socket` may send. */
  onOpen(socket: ReactorWebSocket): void
  /** A complete text message (already valid UTF-8). */
  onText(text: string): void
  /** A complete binary message, copied. */
  onBinary(data: Uint8Array): void
  /** Buffered outgoing data drained below the reactor's backpressure limit. */
  onDrain(): void
  /** A pong arrived (any incoming traffic also counts as liveness for the server). */
  onPong(): void
  /**
   * The connection ended. `code` is the peer's close code, 1005 when its close frame had none,
   * 1006 when the TCP connection dropped without a close frame. Called exactly once.
   */
  onClose(code: number, reason: string): void
}

/** The outcome of a send: sent, buffered (backpressure), or dropped (over the reactor's limit). */
export const SendResult = { BACKPRESSURE: 0, SUCCESS: 1, DROPPED: 2 } as const
export type SendResult = (typeof SendResult)[keyof typeof SendResult]

/** An open WebSocket as the server sees it. */
export interface ReactorWebSocket {
  /**
   * Send one message: a string as a text frame, bytes as a binary frame. DROPPED (nothing is
   * queued) when more than the reactor's `maxBackpressure` is already queued. A reactor may hold
   * the message until the event-loop turn ends (uWS does, to write a socket's messages together);
   * frames keep their order, and held bytes are not backpressure.
   */
  send(data: string | Uint8Array): SendResult
  /**
   * Send a close frame with `code` and `reason` after everything already queued, and end the
   * connection once it is written; `onClose` is called at once. A client that reads nothing for
   * the reactor's `closeTimeout` meanwhile is cut off, so a closed connection never keeps its
   * buffer longer than that.
   */
  close(code: number, reason?: string): void
  /** End the TCP connection at once, without a close frame. */
  terminate(): void
  /** Send a ping frame. */
  ping(): void
  /** Bytes queued but not yet written, held ones included (0 once closed). */
  bufferedAmount(): number
  /** Run several sends as one syscall. */
  cork(fn: () => void): void
}

/** The server's handle on a pending WebSocket upgrade: the app decides before the handshake. */
export interface UpgradeResponder {
  /** The client went away before the decision. Called at most once. */
  onAborted(callback: () => void): void
  /** Complete the handshake (101). `handlers` receive everything from then on. */
  accept(options: AcceptOptions, handlers: WebSocketHandlers): void
  /** Answer with an HTTP response instead (403 Access denied, 500, 400 …) and close. */
  reject(head: ResponseHead, body?: Uint8Array): void
}

/** What a reactor calls: the server implements this. */
export interface ReactorHandlers {
  /** A plain HTTP request. */
  onRequest(request: ReactorRequest, response: HttpResponder): void
  /**
   * A WebSocket upgrade request that already passed handshake validation (GET, Upgrade,
   * Connection, Sec-WebSocket-Key, Sec-WebSocket-Version 13: the reactor answers 400/426 itself).
   * `subprotocols` is `Sec-WebSocket-Protocol` split on `,` and trimmed.
   */
  onUpgrade(request: ReactorRequest, subprotocols: string[], upgrade: UpgradeResponder): void
}

/** One listening socket. */
export interface Listener {
  readonly endpoint: Endpoint
  readonly address: BoundAddress
  /** Stop accepting; open connections are left to the server. */
  close(): Promise<void>
}

/** Reactor-wide options, resolved by the server from its config. */
export interface ReactorOptions {
  /**
   * The reactor's own ceiling for one incoming WebSocket message, in bytes. The server keeps this
   * above its application limit so that it can answer an oversized message with 1009 itself.
   */
  maxPayloadLength: number
  /**
   * Outgoing bytes queued per WebSocket past which `send` drops messages (DROPPED) instead of
   * queueing them; 0 = no limit. Close frames are queued whatever is already there.
   */
  maxBackpressure: number
  /**
   * How long, in ms, a closing WebSocket may go without its client reading (or answering the
   * close) before the reactor cuts it off; DEFAULT_CLOSE_TIMEOUT when absent.
   */
  closeTimeout?: number
  /**
   * Refuse a TCP port another socket already listens on (default true). False lets processes
   * share one port on purpose: uWS listens with SO_REUSEPORT (the kernel spreads connections),
   * node shares its cluster primary's socket when run as a cluster worker.
   */
  exclusive?: boolean
  /**
   * Limits on slow and surplus HTTP clients, in ms (0 = none); absent, node's defaults apply.
   * Only the node reactor has these knobs: uWS 20.30 drops a connection whose head takes ~10 s
   * or whose body arrives slower than 16 KiB per ~10 s, closes idle ones after ~10 s, and has no
   * connection cap.
   */
  headersTimeout?: number
  requestTimeout?: number
  keepAliveTimeout?: number
  /** Most open connections per listener (0 = no limit); more are closed on accept. */
  maxConnections?: number
  /** Told when a connection was closed on accept because `maxConnections` were open. */
  onConnectionRefused?: () => void
}

/** `ReactorOptions.closeTimeout` when absent. */
export const DEFAULT_CLOSE_TIMEOUT = 5_000

/** A running event loop that can listen on endpoints. */
export interface Reactor {
  readonly name: ReactorName
  /** What was really loaded, e.g. `'uWebSockets.js 20.30.0 (native)'`; printed at startup. */
  readonly engine: string
  /** Listen on one endpoint. Rejects with a clear error when it cannot (busy port, unsupported kind). */
  listen(endpoint: Endpoint, handlers: ReactorHandlers): Promise<Listener>
  /** Subscribe to process signals (SIGINT, SIGTERM); returns an unsubscribe function. */
  onSignal(
    signals: readonly NodeJS.Signals[],
    callback: (signal: NodeJS.Signals) => void,
  ): () => void
  /** Close every listener and terminate every connection still open. */
  stop(): Promise<void>
}

/** Builds a reactor; the registry in `index.ts` maps names to lazy factories. */
export type ReactorFactory = (options: ReactorOptions) => Reactor
