/**
 * Where a server listens: Daphne's flag → description building, Twisted strports parsing into the
 * Endpoint union, and formatting back to text.
 * @module
 */
export type { Endpoint, FdEndpoint, SslEndpoint, TcpEndpoint, UnixEndpoint } from './types.js'
export {
  buildEndpointDescriptionStrings,
  DEFAULT_HOST,
  DEFAULT_PORT,
  resolveEndpointStrings,
} from './build.js'
export type { EndpointFlags, EndpointOptions } from './build.js'
export { DEFAULT_PRIVATE_KEY, DEFAULT_UNIX_MODE, ENDPOINT_TYPES, parseEndpoint } from './parse.js'
export { describeEndpoint, formatEndpoint, quoteStringArgument } from './format.js'
