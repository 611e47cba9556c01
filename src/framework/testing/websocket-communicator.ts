/**
 * `WebsocketCommunicator`: drive a WebSocket application in-process, with Channels' API and
 * assertion messages. Timeouts are milliseconds. It stands in for the server: what the app sends
 * is checked against the WebSocket protocol the server checks (websocket-protocol.ts), so a
 * misuse fails the same way in a test as in production.
 * @module
 */
import { AssertionError } from 'node:assert'
import type {
  AsgiReceiveEvent,
  AsgiSendEvent,
  ChannelMessage,
  HeaderPair,
  WebSocketScope,
} from '../asgi/types.js'
import { checkWebsocketSend, DROP, WebsocketPhase } from '../asgi/websocket-protocol.js'
import { ApplicationCommunicator, type ApplicationLike } from './communicator.js'
import { scopeHeaders, splitPath, type TestHeader } from './scope-path.js'

/** Options for a WebsocketCommunicator's scope. */
export interface WebsocketCommunicatorOptions {
  /** Request headers (names are lower-cased). */
  headers?: Iterable<TestHeader>
  /** Offered subprotocols (`scope.subprotocols`). */
  subprotocols?: string[]
  /** ASGI WebSocket spec version put in `scope.asgi.spec_version`. */
  specVersion?: string
}

/** `[true, subprotocol]` when accepted, `[false, closeCode]` when rejected. */
export type ConnectResult =
  [accepted: true, subprotocol: string | null] | [accepted: false, code: number]

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError({ message })
}

/**
 * A WebSocket client for tests: `connect()`, `sendTo()`, `receiveFrom()`, `disconnect()`.
 * `path` may be a path with a query string or a full `ws://` URL; it must be a string.
 */
export class WebsocketCommunicator extends ApplicationCommunicator {
  /** Headers the app sent with `websocket.accept` (set by `connect()`). */
  responseHeaders: HeaderPair[] | null = null
  #phase: WebsocketPhase = WebsocketPhase.Connecting

  constructor(
    application: ApplicationLike,
    path: string,
    options: WebsocketCommunicatorOptions = {},
  ) {
    const { path: decoded, query_string } = splitPath(path)
    const scope: WebSocketScope = {
      type: 'websocket',
      path: decoded,
      query_string,
      headers: scopeHeaders(options.headers),
      subprotocols: options.subprotocols ?? [],
    }
    if (options.specVersion !== undefined)
      scope.asgi = { version: '3.0', spec_version: options.specVersion }
    super(application, scope)
  }

  protected override checkOutput(message: AsgiSendEvent): boolean {
    const scope = this.scope as WebSocketScope
    const next = checkWebsocketSend(this.#phase, message, scope.subprotocols)
    if (next === DROP) return false
    this.#phase = next
    return true
  }

  /** Give the app one event; after `websocket.disconnect` what the app sends is dropped. */
  override async sendInput(message: AsgiReceiveEvent | ChannelMessage): Promise<void> {
    if (message.type === 'websocket.disconnect') this.#phase = WebsocketPhase.Closed
    await super.sendInput(message)
  }

  /** Send `websocket.connect`: `[true, subprotocol]` on accept, `[false, code]` on close. */
  async connect(timeout = 1000): Promise<ConnectResult> {
    await this.sendInput({ type: 'websocket.connect' })
    const response = await this.receiveOutput(timeout)
    if (response.type === 'websocket.close') return [false, response.code ?? 1000]
    check(
      response.type === 'websocket.accept',
      `Expected type 'websocket.accept' or 'websocket.close', but was '${response.type}'`,
    )
    this.responseHeaders = response.headers === undefined ? [] : [...response.headers]
    return [true, response.subprotocol ?? null]
  }

  /**
   * Send one frame: exactly one of `textData` / `bytesData`. Unlike Channels, an empty string
   * is allowed (it is a valid frame).
   */
  async sendTo(frame: { textData?: string; bytesData?: Uint8Array } = {}): Promise<void> {
    const { textData, bytesData } = frame
    check(
      (textData !== undefined) !== (bytesData !== undefined),
      'You must supply exactly one of text_data or bytes_data',
    )
    if (textData !== undefined) {
      check(typeof textData === 'string', 'The text_data argument must be a str')
      await this.sendInput({ type: 'websocket.receive', text: textData })
    } else {
      check(bytesData instanceof Uint8Array, 'The bytes_data argument must be bytes')
      await this.sendInput({ type: 'websocket.receive', bytes: bytesData })
    }
  }

  /** Send `data` as a JSON text frame. */
  async sendJsonTo(data: unknown): Promise<void> {
    await this.sendTo({ textData: JSON.stringify(data) })
  }

  /** The next frame the app sent: a string (text) or bytes. */
  async receiveFrom(timeout = 1000): Promise<string | Uint8Array> {
    const response = await this.receiveOutput(timeout)
    check(
      response.type === 'websocket.send',
      `Expected type 'websocket.send', but was '${response.type}'`,
    )
    const hasText = response.text !== undefined && response.text !== null
    const hasBytes = response.bytes !== undefined && response.bytes !== null
    check(hasText !== hasBytes, "The response needs exactly one of 'text' or 'bytes'")
    if (hasText) {
      check(typeof response.text === 'string', 'Text frame payload is not str')
      return response.text
    }
    check(response.bytes instanceof Uint8Array, 'Binary frame payload is not bytes')
    return response.bytes
  }

  /** The next frame, which must be text, parsed as JSON. */
  async receiveJsonFrom(timeout = 1000): Promise<unknown> {
    const payload = await this.receiveFrom(timeout)
    check(typeof payload === 'string', 'JSON data is not a text frame')
    return JSON.parse(payload)
  }

  /** Send `websocket.disconnect` and wait for the app to end (cancelled app: CancelledError). */
  async disconnect(code = 1000, timeout = 1000): Promise<void> {
    await this.sendInput({ type: 'websocket.disconnect', code })
    await this.wait(timeout)
  }
}
