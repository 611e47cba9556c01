/**
 * Channel layers: the contract, the in-memory layer, name validation and the per-alias registry.
 * @module
 */
export type { ChannelLayer, ChannelLayerConfig, LayerExtension, LayerReceiver } from './types.js'
export { InMemoryChannelLayer } from './in-memory.js'
export {
  InvalidToken,
  MessageDecodeError,
  RedisChannelLayer,
  RedisConnectionError,
  RedisPubSubChannelLayer,
} from './redis/index.js'
export type { InMemoryChannelLayerOptions } from './in-memory.js'
export type { ChannelQueueView } from './channel-queue.js'
export { compileCapacities, globToRegExp } from './capacity.js'
export type { CapacityRule, ChannelCapacityInput } from './capacity.js'
export { cloneMessage } from './clone.js'
export { sameChannelLayerConfigs } from './config-equal.js'
export {
  ChannelLayerManager,
  DEFAULT_CHANNEL_LAYER,
  channelLayers,
  getChannelLayer,
  requireChannelLayer,
  layerBackendNames,
  registerLayerBackend,
} from './registry.js'
export type { LayerFactory } from './registry.js'
export {
  INVALID_CHANNEL_NAME,
  INVALID_GROUP_NAME,
  MAX_NAME_LENGTH,
  RESERVED_MESSAGE_KEY,
  nonLocalName,
  requireValidChannelName,
  requireValidGroupName,
  requireValidMessage,
} from './validation.js'
