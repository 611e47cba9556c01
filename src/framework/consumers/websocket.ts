/**
 * Channels' generic WebSocket consumers: groups, connect/receive/disconnect hooks, accept, close
 * and send helpers, in an async and a sync flavour. They send ASGI events without checking them
 * against the connection's state: the server does that (framework/asgi/websocket-protocol.ts),
 * as Daphne does, and so does the WebsocketCommunicator in tests. A consumer checks only the
 * arguments of its own methods.
 * @module
 */
import {
  AcceptConnection,
  DenyConnection,
  InvalidChannelLayerError,
  ValueError,
} from '../asgi/errors.js'
import type {
  AsgiSendEvent,
  WebSocketAcceptEvent,
  WebSocketCloseEvent,
  WebSocketConnectEvent,
  WebSocketDisconnectEvent,
  WebSocketReceiveEvent,
  WebSocketScope,
  WebSocketSendEvent,
} from '../asgi/types.js'
import { isSettled, SETTLED } from '../asgi/fast-path.js'
import type { ChannelLayer } from '../layers/types.js'
import { AsyncConsumer, layerOf } from './consumer.js'
import type { ConsumerScope, ConsumerTypes } from './typed-messages.js'
import { isThenable } from './dispatch-loop.js'
import { stopConsumer } from './stop-consumer.js'
import { toHeaderPairs, type HeaderValue } from './header-bytes.js'

/** What `send()` takes besides a raw ASGI event. Text wins when both are given. */
export interface WebsocketSendOptions {
  textData?: string | null
  bytesData?: Uint8Array | null
  /** Close after sending: `true` (code 1000) or a close code. */
  close?: boolean | number
}

/** Accept headers: `[name, value]` pairs, strings or bytes (sent as bytes). */
export type AcceptHeaders = Iterable<readonly [HeaderValue, HeaderValue]>

// One shared instance: it only tells the dispatch loop to end cleanly, so no connection pays for
// building an Error as it ends.
const STOP = stopConsumer()

function throwStop(): never {
  throw STOP
}

function groupsUnsupported(): InvalidChannelLayerError {
  return new InvalidChannelLayerError("BACKEND is unconfigured or doesn't support groups")
}

function supportsGroups(layer: ChannelLayer | null): layer is ChannelLayer {
  return (
    layer !== null &&
    typeof layer.groupAdd === 'function' &&
    typeof layer.groupDiscard === 'function'
  )
}

const NO_GROUPS: readonly string[] = Object.freeze([])

/** The groups to join: `null` (Channels' `None`, from JavaScript) is none. */
function joined(groups: readonly string[] | null): readonly string[] {
  return groups ?? NO_GROUPS
}

/** A raw ASGI event rather than send options (`null` from JavaScript is neither). */
function isEvent(options: unknown): options is AsgiSendEvent {
  return typeof options === 'object' && options !== null && 'type' in options
}

/**
 * Channels' `AsyncWebsocketConsumer`. Override `connect()` (default: accept), `receive()` and
 * `disconnect()`; set `groups` to join groups for the connection's lifetime. The server checks
 * what is sent: sending before accept rejects with AsgiProtocolError, and sends after a close are
 * dropped.
 */
export class AsyncWebsocketConsumer<
  Types extends ConsumerTypes = ConsumerTypes,
> extends AsyncConsumer<Types> {
  /** The WebSocket connection scope (`path`, `headers`, `subprotocols`, `url_route`…). */
  declare scope: ConsumerScope<WebSocketScope, Types>
  /**
   * Groups joined before `connect()` and left before `disconnect()`. Needs a channel layer.
   * Assign a new array to set them (a class attribute in Channels); the default is one frozen
   * empty array shared by all instances.
   */
  groups: readonly string[] = NO_GROUPS

  /**
   * `websocket.connect`: join the groups, then `connect()` (Accept/DenyConnection honoured).
   * Not async: without groups, `connect()`'s own promise is chained directly (no async frame
   * per handshake).
   */
  websocket_connect(_message: WebSocketConnectEvent): Promise<void> {
    const groups = joined(this.groups)
    if (groups.length > 0) return this.#joinAndConnect(groups)
    let result: unknown
    try {
      result = this.connect()
    } catch (error) {
      return this.#connectFailed(error)
    }
    if (!isThenable(result)) return SETTLED
    // SETTLED (what the default connect(), accept(), gets from the server) cannot reject: it
    // needs no handler for AcceptConnection/DenyConnection (one closure and promise less).
    if (isSettled(result)) return SETTLED
    return Promise.resolve(result).then(undefined, (error: unknown) => this.#connectFailed(error))
  }

  async #joinAndConnect(groups: readonly string[]): Promise<void> {
    const layer = layerOf(this)
    if (!supportsGroups(layer)) throw groupsUnsupported()
    for (const group of groups) await layer.groupAdd(group, this.channelName)
    try {
      await this.connect()
    } catch (error) {
      await this.#connectFailed(error)
    }
  }

  #connectFailed(error: unknown): Promise<void> {
    if (error instanceof AcceptConnection) return this.accept()
    if (error instanceof DenyConnection) return this.close()
    return Promise.reject(error)
  }

  /** Decide on the handshake. The default accepts. */
  connect(): void | Promise<void> {
    return this.accept()
  }

  /** Accept the connection, optionally choosing a subprotocol and adding response headers. */
  accept(subprotocol?: string | null, headers?: AcceptHeaders | null): Promise<void> {
    const message: WebSocketAcceptEvent = {
      type: 'websocket.accept',
      subprotocol: subprotocol ?? null,
    }
    if (headers !== undefined && headers !== null) {
      const pairs = toHeaderPairs(headers)
      if (pairs.length > 0) message.headers = pairs
    }
    return this.send(message)
  }

  /** `websocket.receive`: calls `receive(text)` or `receive(undefined, bytes)`; `''` is text. */
  websocket_receive(message: WebSocketReceiveEvent): void | Promise<void> {
    // `!= null`: Hypercorn sends `{text: null, bytes}` for binary frames.
    if (message.text != null) return this.receive(message.text, undefined)
    const bytes: unknown = message.bytes
    return this.receive(undefined, (bytes ?? undefined) as Uint8Array | undefined)
  }

  /** Handle one frame from the client. The default ignores it. */
  receive(_textData?: string, _bytesData?: Uint8Array): void | Promise<void> {}

  /**
   * Send a frame (`{ textData }` or `{ bytesData }`, optionally closing after it), or a raw ASGI
   * event. Throws ValueError when neither text nor bytes is given.
   */
  override send(options?: WebsocketSendOptions | AsgiSendEvent): Promise<void> {
    if (isEvent(options)) {
      return super.send(options)
    }
    const { textData, bytesData, close } = options ?? {}
    let message: WebSocketSendEvent
    if (textData !== undefined && textData !== null)
      message = { type: 'websocket.send', text: textData }
    else if (bytesData !== undefined && bytesData !== null)
      message = { type: 'websocket.send', bytes: bytesData }
    else throw new ValueError('You must pass one of bytes_data or text_data')
    const sent = super.send(message)
    if (close === undefined || close === false) return sent
    const code = close === true ? undefined : close
    // Sync flavours queue both now; async ones close once the frame is out.
    if ((this.constructor as typeof AsyncConsumer).syncHandlers) return this.close(code)
    return sent.then(() => this.close(code))
  }

  /**
   * Close (before accept: reject, which a server answers with 403). The code is omitted when
   * undefined or `true`; the reason only when non-empty.
   */
  close(code?: number | boolean | null, reason?: string | null): Promise<void> {
    const message: WebSocketCloseEvent = { type: 'websocket.close' }
    if (typeof code === 'number') message.code = code
    if (reason) message.reason = reason
    return this.send(message)
  }

  /**
   * `websocket.disconnect`: leave the groups, call `disconnect(code)`, then stop the consumer.
   * Not async: with no groups and a synchronous `disconnect()` it throws StopConsumer right
   * away (no promise, no async frame per disconnect).
   */
  websocket_disconnect(message: WebSocketDisconnectEvent): Promise<void> {
    const groups = joined(this.groups)
    if (groups.length > 0) return this.#leaveAndStop(groups, message.code)
    const result: unknown = this.disconnect(message.code)
    if (isThenable(result)) return Promise.resolve(result).then(throwStop)
    throw STOP
  }

  async #leaveAndStop(groups: readonly string[], code: number): Promise<void> {
    const layer = layerOf(this)
    if (!supportsGroups(layer)) throw groupsUnsupported()
    for (const group of groups) await layer.groupDiscard(group, this.channelName)
    await this.disconnect(code)
    throw STOP
  }

  /** Called when the socket closed, with the peer's close code. The default does nothing. */
  disconnect(_code: number): void | Promise<void> {}
}

/**
 * Channels' `WebsocketConsumer`: the same API with plain-function hooks. Sends made by a hook
 * (`this.accept()`, `this.send(...)`) are queued in order and awaited after it returns, so you
 * don't await them and their errors still end the consumer. Use `this.defer(() => ...)` for other
 * async work, such as layer calls.
 */
export class WebsocketConsumer<
  Types extends ConsumerTypes = ConsumerTypes,
> extends AsyncWebsocketConsumer<Types> {
  static override syncHandlers = true
}
