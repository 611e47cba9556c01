/**
 * `channels-ts/server`: the Daphne-grade ASGI protocol server, programmatically.
 *
 * Serves HTTP and WebSocket ASGI applications on uWebSockets.js (or node:http + ws) over TCP,
 * TLS and unix-socket endpoints, with Daphne's scopes, timeouts, 403 reject, error pages and
 * access-log events, plus lifespan, graceful 1001 shutdown and hot-swappable applications.
 *
 * @example
 * ```ts
 * import { createServer, formatAccessLog } from 'channels-ts/server'
 *
 * const server = createServer(application, ['tcp:port=8000:interface=127.0.0.1'], {
 *   onAction: (event) => console.log(formatAccessLog(event)),
 * })
 * const { reactor, listeners } = await server.start()
 * // … later
 * await server.stop()
 * ```
 * @module
 */
export { createServer } from './server.js'
export type { ListenerInfo, Server, StartResult } from './server.js'
export { DEFAULT_MAX_MESSAGE_SIZE, resolveServerConfig } from './config.js'
export type {
  ProxyHeaderNames,
  ReactorChoice,
  ResolvedProxyHeaders,
  ResolvedServerConfig,
  ServerOptions,
} from './config.js'
export { formatAccessLog, formatLogDate, formatRunserverLine } from './access-log.js'
export type { AccessEvent, RunserverLine, RunserverStyle } from './access-log.js'
export { LifespanStartupError } from './lifespan.js'
export { parseXForwardedFor } from './proxy-headers.js'
export { errorPageHtml } from './error-page.js'
export {
  buildEndpointDescriptionStrings,
  describeEndpoint,
  formatEndpoint,
  parseEndpoint,
  resolveEndpointStrings,
} from './endpoints/index.js'
export type {
  Endpoint,
  FdEndpoint,
  SslEndpoint,
  TcpEndpoint,
  UnixEndpoint,
} from './endpoints/index.js'
export { createReactor } from './reactor/index.js'
export type { Reactor, ReactorName } from './reactor/types.js'
export type { ConnectionEntry, ServerInspection } from './inspection.js'
export { mountDashboard } from './dashboard/index.js'
export type { DashboardOptions } from './dashboard/index.js'
export {
  createInspector,
  DASHBOARD_CLOSE_CODE,
  DASHBOARD_CLOSE_REASON,
  DASHBOARD_PREFIX,
} from './dashboard/inspector.js'
export type { InspectedServer, Inspector, InspectorOptions } from './dashboard/inspector.js'
export { createDashboardApp } from './dashboard/app.js'
export { TOKEN_COOKIE } from './dashboard/access.js'
export type { DashboardAccess } from './dashboard/access.js'
export type {
  BuildReport,
  ConnectionRow,
  ConnectionsSection,
  DashboardEvent,
  DashboardSnapshot,
  GenerationRow,
  GroupRow,
  InspectorUpdate,
  LayerSection,
  ProcessSection,
  ReloadSection,
  Sample,
} from './dashboard/types.js'
export type {
  ChannelReport,
  GroupReport,
  InspectableLayer,
  LayerReport,
} from '../framework/asgi/inspection.js'
