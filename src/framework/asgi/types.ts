/**
 * ASGI scopes and events, one discriminated union per protocol and direction.
 *
 * Key names and `type` strings are kept verbatim from the ASGI specification
 * (`query_string`, `url_route`, `'websocket.accept'`), so code written against
 * Channels reads the same. Bytes are `Uint8Array` (the server hands out Buffers).
 * @module
 */

/** One header: lower-cased name and value, both raw bytes, as ASGI requires. */
export type HeaderPair = [name: Uint8Array, value: Uint8Array]

/** `[host, port]` of a peer or of the listening socket; `null` for unix sockets. */
export type Address = [host: string, port: number] | null

export interface AsgiInfo {
  version: '3.0'
  spec_version?: string
}

/** What URLRouter adds to a scope on a match (`args` positional, `kwargs` named captures). */
export interface UrlRoute {
  args: unknown[]
  kwargs: Record<string, unknown>
}

/** Keys every connection scope may carry, plus whatever middleware adds (cookies, session, user…). */
interface BaseScope {
  asgi?: AsgiInfo
  /** Set by middleware and routers; open-ended like a Python dict. */
  [key: string]: unknown
}

interface ConnectionScope extends BaseScope {
  /** Percent-decoded path, without the query string. */
  path: string
  raw_path?: Uint8Array
  root_path?: string
  /** Raw bytes after the first `?`, still percent-encoded. */
  query_string: Uint8Array
  headers: HeaderPair[]
  client?: Address
  server?: Address
  /** Set by URLRouter while routing nested routers. */
  path_remaining?: string
  url_route?: UrlRoute
}

export interface HttpScope extends ConnectionScope {
  type: 'http'
  http_version: string
  method: string
  scheme?: string
}

export interface WebSocketScope extends ConnectionScope {
  type: 'websocket'
  subprotocols: string[]
  /** Daphne omits these; we add them (daphne#538). */
  scheme?: string
  http_version?: string
}

export interface LifespanScope extends BaseScope {
  type: 'lifespan'
  state?: Record<string, unknown>
}

/** A worker scope (`channels runworker`): one per channel name. */
export interface ChannelScope extends BaseScope {
  type: 'channel'
  channel: string
}

export type Scope = HttpScope | WebSocketScope | LifespanScope | ChannelScope
export type ScopeType = Scope['type']

// ---------------------------------------------------------------------------------------------
// HTTP

/** server → app: a request body chunk. */
export interface HttpRequestEvent {
  type: 'http.request'
  body: Uint8Array
  more_body: boolean
}
/** server → app: the client went away, or the response finished. */
export interface HttpDisconnectEvent {
  type: 'http.disconnect'
}
/** app → server: status and headers. */
export interface HttpResponseStartEvent {
  type: 'http.response.start'
  status: number
  headers?: Iterable<HeaderPair>
  trailers?: boolean
}
/** app → server: a body chunk; `more_body: false` (the default) ends the response. */
export interface HttpResponseBodyEvent {
  type: 'http.response.body'
  body?: Uint8Array
  more_body?: boolean
}

export type HttpReceiveEvent = HttpRequestEvent | HttpDisconnectEvent
export type HttpSendEvent = HttpResponseStartEvent | HttpResponseBodyEvent

// ---------------------------------------------------------------------------------------------
// WebSocket

/** server → app: the handshake arrived; the app answers with accept or close. */
export interface WebSocketConnectEvent {
  type: 'websocket.connect'
}
interface WebSocketReceiveText {
  type: 'websocket.receive'
  text: string
  bytes?: undefined | null
}
interface WebSocketReceiveBytes {
  type: 'websocket.receive'
  bytes: Uint8Array
  text?: undefined | null
}
/** server → app: one message from the client; exactly one of `text`/`bytes`. */
export type WebSocketReceiveEvent = WebSocketReceiveText | WebSocketReceiveBytes
/** server → app: the connection ended; `code` is the peer's close code (1006 when dropped). */
export interface WebSocketDisconnectEvent {
  type: 'websocket.disconnect'
  code: number
  reason?: string
}

/** app → server: complete the handshake. */
export interface WebSocketAcceptEvent {
  type: 'websocket.accept'
  subprotocol?: string | null
  headers?: Iterable<HeaderPair>
}
interface WebSocketSendText {
  type: 'websocket.send'
  text: string
  bytes?: undefined | null
}
interface WebSocketSendBytes {
  type: 'websocket.send'
  bytes: Uint8Array
  text?: undefined | null
}
/** app → server: one message to the client; exactly one of `text`/`bytes`. */
export type WebSocketSendEvent = WebSocketSendText | WebSocketSendBytes
/** app → server: close (after accept) or reject with 403 (before accept). */
export interface WebSocketCloseEvent {
  type: 'websocket.close'
  code?: number
  reason?: string
}

export type WebSocketReceiveEvents =
  WebSocketConnectEvent | WebSocketReceiveEvent | WebSocketDisconnectEvent
export type WebSocketSendEvents = WebSocketAcceptEvent | WebSocketSendEvent | WebSocketCloseEvent

// ---------------------------------------------------------------------------------------------
// Lifespan

export interface LifespanStartupEvent {
  type: 'lifespan.startup'
}
export interface LifespanShutdownEvent {
  type: 'lifespan.shutdown'
}
export interface LifespanStartupCompleteEvent {
  type: 'lifespan.startup.complete'
}
export interface LifespanStartupFailedEvent {
  type: 'lifespan.startup.failed'
  message?: string
}
export interface LifespanShutdownCompleteEvent {
  type: 'lifespan.shutdown.complete'
}
export interface LifespanShutdownFailedEvent {
  type: 'lifespan.shutdown.failed'
  message?: string
}

export type LifespanReceiveEvent = LifespanStartupEvent | LifespanShutdownEvent
export type LifespanSendEvent =
  | LifespanStartupCompleteEvent
  | LifespanStartupFailedEvent
  | LifespanShutdownCompleteEvent
  | LifespanShutdownFailedEvent

// ---------------------------------------------------------------------------------------------
// Channel layer messages and the application contract

/**
 * A message travelling over a channel layer. Open-ended (any JSON/msgpack-able values); `type`
 * picks the consumer handler by Channels' rule (`'chat.message'` → `chat_message`).
 */
export type ChannelMessage = { type: string } & Record<string, unknown>

/** Everything a server (or a communicator) may hand to an application. */
export type AsgiReceiveEvent = HttpReceiveEvent | WebSocketReceiveEvents | LifespanReceiveEvent
/** Everything an application may hand to its server. */
export type AsgiSendEvent = HttpSendEvent | WebSocketSendEvents | LifespanSendEvent

/** Awaited by the app for its next event. */
export type Receive<E = AsgiReceiveEvent | ChannelMessage> = () => Promise<E>
/** Called by the app to emit an event; rejects when the event is invalid for the connection state. */
export type Send<E = AsgiSendEvent> = (message: E) => Promise<void>

/** An ASGI application: one call per connection (scope). */
export type Application<S extends Scope = Scope> = (
  scope: S,
  receive: Receive,
  send: Send,
) => Promise<void>

/**
 * An application for any scope type, as routers, middleware and settings hold one. Consumers and
 * routers narrow `S`, and a parameter type is contravariant, so only `any` accepts them all.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one place: see above
export type AnyApplication = Application<any>

/** Exhaustiveness guard for `switch (msg.type)`. */
export function assertNever(value: never, what = 'value'): never {
  throw new TypeError(`Unexpected ${what}: ${JSON.stringify(value)}`)
}
