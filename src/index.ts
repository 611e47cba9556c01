/**
 * channels-ts: Django Channels for TypeScript.
 * @module
 */
export * from './framework/asgi/types.js'
export * from './framework/asgi/errors.js'
export * from './framework/asgi/status.js'
export * from './framework/asgi/headers.js'
export * from './framework/asgi/logging.js'
export {
  CONNECTION_NOTES,
  connectionNotes,
  type ConnectionNotes,
} from './framework/asgi/inspection.js'
export * from './framework/routing/index.js'
export * from './framework/settings/index.js'
export * from './framework/layers/index.js'
export * from './framework/consumers/index.js'
export * from './framework/middleware/index.js'
export * from './framework/staticfiles/index.js'
export * from './framework/worker/index.js'
