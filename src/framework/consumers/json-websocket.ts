/**
 * Channels' JSON WebSocket consumers, with one deliberate improvement: a frame that is not JSON
 * does not crash the consumer (channels#2219).
 * @module
 */
import { ValueError } from '../asgi/errors.js'
import { getLogger } from '../asgi/logging.js'
import { WS_1003_UNSUPPORTED_DATA, WS_1007_INVALID_FRAME_PAYLOAD_DATA } from '../asgi/status.js'
import { isThenable } from './dispatch-loop.js'
import type { ConsumerTypes } from './typed-messages.js'
import { AsyncWebsocketConsumer } from './websocket.js'
import { describeValue } from '../../util/describe.js'

/** The frame that failed to decode, as `receive()` got it. */
export interface DecodeErrorFrame {
  textData?: string
  bytesData?: Uint8Array
  /** The decoded content, when it was JSON but `validateJson` refused it. */
  content?: unknown
}

const log = getLogger('channels.consumers')

/**
 * Channels' `AsyncJsonWebsocketConsumer`: text frames are decoded with `decodeJson` and handed
 * to `receiveJson(content)`; `sendJson(content)` sends `encodeJson(content)` as a text frame.
 *
 * Bad input goes to `onDecodeError(error, frame)` instead of killing the consumer. The default
 * closes the socket: 1003 (unsupported data) for a binary frame, 1007 (invalid payload) for an
 * empty text frame, invalid JSON, or content `validateJson` refused. For Channels' strict
 * behaviour (the consumer dies, close 1011), override it to `throw error`; to ignore bad frames
 * or reply with an error frame, override it to do that.
 *
 * Typed: `In` is what `receiveJson` gets, `Out` what `sendJson` takes, `Types` what any consumer
 * declares (`ConsumerTypes`). `In` is what the client is expected to send, not checked unless
 * `validateJson` checks it: JSON from a client is whatever the client sent.
 * @example
 * class ChatConsumer extends AsyncJsonWebsocketConsumer<ChatIn, ChatOut> {
 *   override validateJson(content: unknown): ChatIn {
 *     return ChatIn.parse(content) // any schema library: throwing goes to onDecodeError
 *   }
 *   override async receiveJson(content: ChatIn) { await this.sendJson({ echo: content.text }) }
 * }
 */
export class AsyncJsonWebsocketConsumer<
  In = unknown,
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- for subclasses
  Out = unknown,
  Types extends ConsumerTypes = ConsumerTypes,
> extends AsyncWebsocketConsumer<Types> {
  /**
   * Decode a text frame (default `JSON.parse`). Override on the class; may return a promise in
   * the async flavour. Throwing routes the frame to `onDecodeError`.
   */
  static decodeJson(text: string): unknown {
    return JSON.parse(text)
  }

  /**
   * Encode content for a text frame. The default is `JSON.stringify`, which writes `{"a":1}`
   * where Python's `json.dumps` writes `{"a": 1}`; both decode to the same value.
   */
  static encodeJson(content: unknown): string {
    // undefined for undefined, a function or a symbol, whatever the types say.
    const text = JSON.stringify(content) as string | undefined
    if (text === undefined) throw new TypeError(`Cannot encode ${describeValue(content)} as JSON`)
    return text
  }

  override receive(textData?: string, bytesData?: Uint8Array): void | Promise<void> {
    if (!textData) {
      const error = new ValueError('No text section for incoming WebSocket frame!')
      return this.onDecodeError(error, textData === undefined ? { bytesData } : { textData })
    }
    const cls = this.constructor as typeof AsyncJsonWebsocketConsumer
    let content: unknown
    try {
      content = cls.decodeJson(textData)
    } catch (error) {
      return this.onDecodeError(error, { textData })
    }
    if (isThenable(content)) {
      return Promise.resolve(content).then(
        (decoded) => this.#received(decoded, textData),
        (error: unknown) => this.onDecodeError(error, { textData }),
      )
    }
    // Without a validator this costs one property read per frame; nothing is called.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- #validate calls it on `this`
    const validate = this.validateJson
    if (validate !== undefined) return this.#validate(validate, content, textData)
    // `In` on trust: what the class declares the client sends (see validateJson).
    return this.receiveJson(content as In)
  }

  /** Decoded content (of an async `decodeJson`) to its validator or `receiveJson`. */
  #received(content: unknown, textData: string): void | Promise<void> {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- #validate calls it on `this`
    const validate = this.validateJson
    if (validate !== undefined) return this.#validate(validate, content, textData)
    return this.receiveJson(content as In)
  }

  /** Content through `validateJson` to `receiveJson`; a refusal goes to `onDecodeError`. */
  #validate(
    validate: (content: unknown) => In | PromiseLike<In>,
    content: unknown,
    textData: string,
  ): void | Promise<void> {
    let valid: In | PromiseLike<In>
    try {
      valid = validate.call(this, content)
    } catch (error) {
      return this.onDecodeError(error, { textData, content })
    }
    if (isThenable(valid)) {
      return Promise.resolve(valid).then(
        (checked) => this.receiveJson(checked),
        (error: unknown) => this.onDecodeError(error, { textData, content }),
      )
    }
    return this.receiveJson(valid)
  }

  /**
   * Optional: check decoded content before `receiveJson` gets it, with the schema library of
   * your choice (none is bundled). Return the content as `In` (the library's parsed value: it
   * may differ from the input), or throw (reject) to refuse it: the frame then goes to
   * `onDecodeError(error, { textData, content })`, whose default closes with 1007. Without it,
   * `receiveJson` gets the decoded JSON as it is, typed `In` on trust.
   */
  validateJson?(content: unknown): In | PromiseLike<In>

  /** Handle one decoded (and, with `validateJson`, checked) message. The default ignores it. */
  receiveJson(_content: In): void | Promise<void> {}

  /**
   * A frame could not be decoded: a binary frame or an empty text frame (`error` is a
   * ValueError "No text section for incoming WebSocket frame!") or invalid JSON (the
   * decoder's error). The default closes with 1003 for binary, 1007 otherwise, and logs at
   * debug level only (logger `channels.consumers`).
   */
  onDecodeError(error: unknown, frame: DecodeErrorFrame): void | Promise<void> {
    const code =
      frame.bytesData !== undefined ? WS_1003_UNSUPPORTED_DATA : WS_1007_INVALID_FRAME_PAYLOAD_DATA
    // Debug only: a peer sending garbage must not be able to flood the logs (channels#2219).
    const what = 'content' in frame ? 'validateJson refused its content' : 'the frame is not JSON'
    log.debug(`Closing ${this.scope.path} with ${code}: ${what}`, error)
    return this.close(code)
  }

  /** Send `content` as a JSON text frame, optionally closing after it. */
  sendJson(content: Out, close: boolean | number = false): Promise<void> {
    const cls = this.constructor as typeof AsyncJsonWebsocketConsumer
    return this.send({ textData: cls.encodeJson(content), close })
  }
}

/**
 * Channels' `JsonWebsocketConsumer`: plain-function hooks; sends are queued (see
 * WebsocketConsumer).
 */
export class JsonWebsocketConsumer<
  In = unknown,
  Out = unknown,
  Types extends ConsumerTypes = ConsumerTypes,
> extends AsyncJsonWebsocketConsumer<In, Out, Types> {
  static override syncHandlers = true
}
