/**
 * Workers refuse an in-memory channel layer: each worker process would hold its own, so a group
 * would be split into as many groups as there are workers, and a `groupSend` would reach only the
 * members connected to the same worker as the sender. No CHANNEL_LAYERS at all splits nothing.
 * @module
 */
import { InMemoryChannelLayer } from '../../framework/layers/in-memory.js'
import { CommandError } from '../errors.js'
import type { ProjectSettings } from '../settings-loader.js'

/** The BACKEND names the registry builds an InMemoryChannelLayer for. */
const IN_MEMORY_NAMES = new Set(['channels.layers.InMemoryChannelLayer', 'InMemoryChannelLayer'])

/** Throw when `workers` > 1 and an alias of CHANNEL_LAYERS is an in-memory layer. */
export function refuseInMemoryLayers(settings: ProjectSettings, workers: number): void {
  if (workers <= 1) return
  const layers: unknown = settings.CHANNEL_LAYERS
  if (layers === null || typeof layers !== 'object') return
  for (const [alias, config] of Object.entries(layers as Record<string, unknown>)) {
    const backend: unknown = (config as { BACKEND?: unknown } | null)?.BACKEND
    if (!isInMemory(backend)) continue
    const name = typeof backend === 'string' ? backend : 'InMemoryChannelLayer'
    throw new CommandError(
      `--workers ${workers} needs a channel layer the workers share: ` +
        `CHANNEL_LAYERS['${alias}'] is ${name}, which lives inside one process, so groups ` +
        `would be split across the ${workers} workers (a group_send would reach only the ` +
        `members connected to the sender's worker).\n` +
        `Set CHANNEL_LAYERS['${alias}'] to a Redis layer: BACKEND ` +
        `'channels_redis.core.RedisChannelLayer' (or ` +
        `'channels_redis.pubsub.RedisPubSubChannelLayer') with CONFIG ` +
        `{ hosts: ['redis://127.0.0.1:6379'] }; a project made by startproject does this when ` +
        `REDIS_URL is set. Or serve with --workers 1.`,
    )
  }
}

function isInMemory(backend: unknown): boolean {
  if (typeof backend === 'string') return IN_MEMORY_NAMES.has(backend)
  return (
    typeof backend === 'function' &&
    (backend === InMemoryChannelLayer || backend.prototype instanceof InMemoryChannelLayer)
  )
}
