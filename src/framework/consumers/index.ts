/**
 * Consumers: Channels' programming model. One instance per connection; messages dispatched to
 * methods named after their type (`'chat.message'` → `chat_message`), one at a time.
 * @module
 */
export {
  AsyncConsumer,
  SyncConsumer,
  type AnyConsumer,
  type ConsumerApplication,
  type ConsumerClass,
} from './consumer.js'
export type {
  ConsumerLayer,
  ConsumerScope,
  ConsumerTypes,
  DeclaredTypes,
  EventLayer,
  EventMessage,
  HandlerName,
  HandlersCheck,
  OutgoingMessage,
} from './typed-messages.js'
export {
  AsyncWebsocketConsumer,
  WebsocketConsumer,
  type AcceptHeaders,
  type WebsocketSendOptions,
} from './websocket.js'
export {
  AsyncJsonWebsocketConsumer,
  JsonWebsocketConsumer,
  type DecodeErrorFrame,
} from './json-websocket.js'
export { AsyncHttpConsumer } from './http.js'
export type { HeadersInit, HeaderValue } from './header-bytes.js'
