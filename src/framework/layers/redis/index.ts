/**
 * The Redis channel layers, compatible with channels_redis: `RedisChannelLayer` (queues in sorted
 * sets; Django's default) and `RedisPubSubChannelLayer` (Redis pub/sub; one PUBLISH per group
 * message). Settings select them with channels_redis's BACKEND names.
 * @module
 */
export { RedisChannelLayer } from './core.js'
export { RedisPubSubChannelLayer } from './pubsub.js'
export { RedisConnectionError } from './connection.js'
export { MessageDecodeError } from './codec.js'
export { InvalidToken } from './fernet.js'
export { consistentHash } from './config.js'
