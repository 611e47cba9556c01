/**
 * The slice of the uWebSockets.js 20.30 API the uws reactor uses, as structural interfaces (the
 * package's own typings stay out of everything but `uws.ts`, and tests can pass fakes). Objects
 * handed to callbacks are only valid during the callback: see `uws-http.ts` for the copying rules.
 * @module
 */

/** Strings and byte views uWS accepts wherever it takes data. */
export type UwsData = string | ArrayBuffer | Uint8Array

/** An opaque native listen socket. */
export type UwsListenSocket = object

/** An opaque native socket context, passed through to `upgrade`. */
export type UwsContext = object

/** A request head; stack-allocated by uWS, valid only during the handler call. */
export interface UwsHttpRequest {
  getHeader(lowerCaseKey: string): string
  getUrl(): string
  getQuery(): string | undefined
  getCaseSensitiveMethod(): string
  forEach(cb: (key: string, value: string) => void): void
}

/** A response; valid until `onAborted` fires or the response finished. */
export interface UwsHttpResponse {
  writeStatus(status: UwsData): UwsHttpResponse
  writeHeader(key: UwsData, value: UwsData): UwsHttpResponse
  write(chunk: UwsData): boolean
  end(body?: UwsData, closeConnection?: boolean): UwsHttpResponse
  endWithoutBody(reportedContentLength?: number, closeConnection?: boolean): UwsHttpResponse
  tryEnd(chunk: UwsData, totalSize: number): [ok: boolean, done: boolean]
  close(): UwsHttpResponse
  getWriteOffset(): number
  onWritable(handler: (offset: number) => boolean): UwsHttpResponse
  onAborted(handler: () => void): UwsHttpResponse
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): UwsHttpResponse
  /** Stop / restart reading the socket (body streaming). */
  pause(): void
  resume(): void
  getRemoteAddress(): ArrayBuffer
  cork(cb: () => void): UwsHttpResponse
  upgrade(
    userData: unknown,
    key: UwsData,
    protocol: UwsData,
    extensions: UwsData,
    context: UwsContext,
  ): void
}

/** An open WebSocket; invalid after its close handler ran. */
export interface UwsWebSocket<T> {
  send(message: UwsData, isBinary?: boolean, compress?: boolean): number
  getBufferedAmount(): number
  end(code?: number, shortMessage?: UwsData): void
  close(): void
  ping(message?: UwsData): number
  cork(cb: () => void): void
  getUserData(): T
}

/** The `app.ws(pattern, behavior)` options and handlers we set. */
export interface UwsWebSocketBehavior<T> {
  maxPayloadLength: number
  maxBackpressure: number
  idleTimeout: number
  sendPingsAutomatically: boolean
  compression: number
  closeOnBackpressureLimit: boolean
  upgrade(res: UwsHttpResponse, req: UwsHttpRequest, context: UwsContext): void
  open(ws: UwsWebSocket<T>): void
  message(ws: UwsWebSocket<T>, message: ArrayBuffer, isBinary: boolean): void
  drain(ws: UwsWebSocket<T>): void
  close(ws: UwsWebSocket<T>, code: number, message: ArrayBuffer): void
  pong(ws: UwsWebSocket<T>, message: ArrayBuffer): void
}

/** An App or SSLApp. */
export interface UwsApp {
  any(pattern: string, handler: (res: UwsHttpResponse, req: UwsHttpRequest) => void): UwsApp
  ws<T>(pattern: string, behavior: UwsWebSocketBehavior<T>): UwsApp
  /** `options` is 0 or `LIBUS_LISTEN_EXCLUSIVE_PORT` (the typings only show the host-less form). */
  listen(
    host: string,
    port: number,
    options: number,
    cb: (socket: UwsListenSocket | false) => void,
  ): UwsApp
  listen(port: number, options: number, cb: (socket: UwsListenSocket | false) => void): UwsApp
  listen_unix(cb: (socket: UwsListenSocket | false) => void, path: string): UwsApp
  /** Close every listen socket and connection (native 20.30 only; the typings lag). */
  close?(): void
}

/** TLS files, as uSockets reads them at construction. */
export interface UwsAppOptions {
  key_file_name?: string
  cert_file_name?: string
  dh_params_file_name?: string
}

/** The module's exports we use. */
export interface UwsModule {
  App(options?: UwsAppOptions): UwsApp
  /** Missing from the package's JS fallback. */
  SSLApp?(options: UwsAppOptions): UwsApp
  us_listen_socket_close(socket: UwsListenSocket): void
  us_socket_local_port(socket: UwsListenSocket): number
  /** Missing from the package's JS fallback. */
  DISABLED?: number
  /**
   * The listen option that leaves SO_REUSEPORT off, so a port in use is refused. Missing from the
   * JS fallback, which listens through node:net and never shares a port.
   */
  LIBUS_LISTEN_EXCLUSIVE_PORT?: number
}

/**
 * Depth of uWS callbacks currently running. uWS corks the socket whose callback runs; any write
 * made when this is 0 (after an `await`, in a timer) must be wrapped in `cork` or uWS prints a
 * warning and sends one syscall per write.
 */
export const uwsScope = { depth: 0 }
