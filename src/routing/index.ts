/**
 * Routing: dispatch a connection by protocol, URL path or channel name. Every router instance
 * is itself an ASGI application.
 * @module
 */
export { AsgiCallable } from './callable.js'
export type { RoutedApplication } from './application.js'
export { ProtocolTypeRouter, type ProtocolTypeMapping } from './protocol-type.js'
export { ChannelNameRouter, type ChannelNameMapping } from './channel-name.js'
export { URLRouter } from './url.js'
export { path, rePath, include, URLRoute, type RouteOptions } from './route.js'
export { RoutePattern } from './route-pattern.js'
export { RegexPattern } from './regex-pattern.js'
export type { Pattern, PatternMatch, Matcher } from './pattern.js'
export { registerConverter, DEFAULT_CONVERTERS, type PathConverter } from './converters.js'
