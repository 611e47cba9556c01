/**
 * channels-ts: Django Channels for TypeScript.
 * @module
 */
export * from './asgi/types.js'
export * from './asgi/errors.js'
export * from './asgi/status.js'
export * from './asgi/headers.js'
export * from './asgi/logging.js'
export * from './asgi/receive-source.js'
export * from './routing/index.js'
export * from './settings/index.js'
export * from './layers/index.js'
export * from './consumers/index.js'
export * from './middleware/index.js'
export * from './staticfiles/index.js'
