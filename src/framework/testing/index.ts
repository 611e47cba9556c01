/**
 * channels-ts/testing: Channels' communicators, to exercise applications and consumers
 * in-process, without a server or sockets. Timeouts are milliseconds (default 1000).
 *
 * @example
 * ```ts
 * import { AsyncWebsocketConsumer } from 'channels-ts'
 * import { WebsocketCommunicator } from 'channels-ts/testing'
 *
 * class Echo extends AsyncWebsocketConsumer {
 *   override async receive(text?: string) {
 *     await this.send({ textData: text })
 *   }
 * }
 *
 * const communicator = new WebsocketCommunicator(Echo.asAsgi(), '/ws/echo/')
 * const [connected] = await communicator.connect()
 * await communicator.sendTo({ textData: 'hello' })
 * console.assert(connected && (await communicator.receiveFrom()) === 'hello')
 * await communicator.disconnect()
 * ```
 * @module
 */
export { ApplicationCommunicator, TimeoutError, type ApplicationLike } from './communicator.js'
export {
  WebsocketCommunicator,
  type ConnectResult,
  type WebsocketCommunicatorOptions,
} from './websocket-communicator.js'
export {
  HttpCommunicator,
  type HttpCommunicatorOptions,
  type HttpTestResponse,
} from './http-communicator.js'
export type { TestHeader } from './scope-path.js'
