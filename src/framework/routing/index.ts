/**
 * Routing: route a connection by protocol, URL path or channel name. Every router instance
 * is itself an ASGI application (see {@link AsgiCallable}).
 *
 * Differences from Channels, all forced by JavaScript:
 * - a scope without `type` is a ValueError (Python raises KeyError);
 * - `url_route.args` is an array, not a tuple; positional groups that did not take part in the
 *   match are `undefined` (Python: None);
 * - `rePath()` takes JavaScript regex syntax; Python's `(?P<name>…)`, `(?P=name)`, `\A`, `\Z`
 *   and leading `(?i)`/`(?m)`/`(?s)` are translated; `\d`/`\w` are ASCII-only;
 * - the `uuid` converter keeps the string (no UUID type); `int` refuses values past
 *   Number.MAX_SAFE_INTEGER (no match) instead of losing digits;
 * - any exception from a converter means "no match" (Django: only ValueError);
 * - `include()` always throws; nest `new URLRouter([...])` instead.
 * @module
 */
export { AsgiCallable } from './callable.js'
export type { RoutedApplication } from './application.js'
export { ProtocolTypeRouter, type ProtocolTypeMapping } from './protocol-type.js'
export { ChannelNameRouter, type ChannelNameMapping } from './channel-name.js'
export { URLRouter } from './url.js'
export { path, rePath, include, URLRoute, type RouteOptions } from './route.js'
export type {
  PathConverterTypes,
  PathKwargs,
  RePathKwargs,
  RouteKwargs,
  RouteKwargsCheck,
} from './route-params.js'
export { RoutePattern } from './route-pattern.js'
export { RegexPattern } from './regex-pattern.js'
export type { Pattern, PatternMatch, Matcher } from './pattern.js'
export { registerConverter, DEFAULT_CONVERTERS, type PathConverter } from './converters.js'
