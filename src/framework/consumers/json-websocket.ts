/**
 * Channels' JSON WebSocket consumers, with one deliberate improvement: a frame that is not JSON
 * does not crash the consumer (channels#2219).
 * @module
 */
import { ValueError } from '../asgi/errors.js'
import { getLogger } from '../asgi/logging.js'
import { WS_1003_UNSUPPORTED_DATA, WS_1007_INVALID_FRAME_PAYLOAD_DATA } from '../asgi/status.js'
import { isThenable } from './dispatch-loop.js'
import { AsyncWebsocketConsumer } from './websocket.js'
import { describeValue } from '../../util/describe.js'

/** The frame that failed to decode, as `receive()` got it. */
export interface DecodeErrorFrame {
  textData?: string
  bytesData?: Uint8Array
}

const log = getLogger('channels.consumers')

/**
 * Channels' `AsyncJsonWebsocketConsumer`: text frames are decoded with `decodeJson` and handed
 * to `receiveJson(content)`; `sendJson(content)` sends `encodeJson(content)` as a text frame.
 *
 * Bad input goes to `onDecodeError(error, frame)` instead of killing the consumer. The default
 * closes the socket: 1003 (unsupported data) for a binary frame, 1007 (invalid payload) for an
 * empty text frame or invalid JSON. For Channels' strict behaviour (the consumer dies, close
 * 1011), override it to `throw error`; to ignore bad frames or reply with an error frame,
 * override it to do that.
 */
export class AsyncJsonWebsocketConsumer extends AsyncWebsocketConsumer {
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
        (decoded) => this.receiveJson(decoded),
        (error: unknown) => this.onDecodeError(error, { textData }),
      )
    }
    return this.receiveJson(content)
  }

  /** Handle one decoded message. The default ignores it. */
  receiveJson(_content: unknown): void | Promise<void> {}

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
    log.debug(`Closing ${this.scope.path} with ${code}: the frame is not JSON`, error)
    return this.close(code)
  }

  /** Send `content` as a JSON text frame, optionally closing after it. */
  sendJson(content: unknown, close: boolean | number = false): Promise<void> {
    const cls = this.constructor as typeof AsyncJsonWebsocketConsumer
    return this.send({ textData: cls.encodeJson(content), close })
  }
}

/**
 * Channels' `JsonWebsocketConsumer`: plain-function hooks; sends are queued (see
 * WebsocketConsumer).
 */
export class JsonWebsocketConsumer extends AsyncJsonWebsocketConsumer {
  static override syncHandlers = true
}
