/**
 * channels-ts/testing: Channels' communicators, to exercise applications and consumers
 * in-process without a server or sockets, and live servers for clients that need a real socket
 * (a browser, `ws`, `fetch`): {@link startLiveServer} runs the server in the test process with
 * the application given, {@link startLiveServerProcess} runs the project's `channels serve` in
 * its own process. Communicator timeouts are milliseconds (default 1000).
 *
 * Importing this module loads no server code; a live server loads it when it starts (and
 * uWebSockets.js only for the `uws` or `auto` reactor).
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
export * from '../framework/testing/index.js'
export { startLiveServer, type LiveServer, type LiveServerOptions } from './live-server.js'
export {
  LiveServerProcessError,
  startLiveServerProcess,
  type LiveServerProcess,
  type LiveServerProcessExit,
  type LiveServerProcessOptions,
} from './live-server-process.js'
