/**
 * Channels' `ChannelLayerManager`: builds one layer per alias from `CHANNEL_LAYERS`, caches it,
 * and forgets the cache when the settings' CHANNEL_LAYERS object changes (`overrideSettings`).
 * @module
 */
import { InvalidChannelLayerError } from '../asgi/errors.js'
import { getSettings } from '../settings/settings.js'
import { InMemoryChannelLayer } from './in-memory.js'
import { RedisChannelLayer } from './redis/core.js'
import { RedisPubSubChannelLayer } from './redis/pubsub.js'
import type { ChannelLayer, ChannelLayerConfig } from './types.js'
import { describeValue } from '../../util/describe.js'

/** The alias consumers use unless they set `channelLayerAlias`. */
export const DEFAULT_CHANNEL_LAYER = 'default'

/** Builds a layer from its CONFIG object. */
export type LayerFactory = (config: Record<string, unknown>) => ChannelLayer

const BACKENDS = new Map<string, LayerFactory>()

/**
 * Make a BACKEND name resolvable from settings (e.g. `'channels_redis.core.RedisChannelLayer'`
 * for a Redis layer package). Returns the factory it replaced, if any.
 */
export function registerLayerBackend(
  name: string,
  factory: LayerFactory,
): LayerFactory | undefined {
  const old = BACKENDS.get(name)
  BACKENDS.set(name, factory)
  return old
}

/** The registered BACKEND names (the CLI's system checks look a name up before building). */
export function layerBackendNames(): string[] {
  return [...BACKENDS.keys()]
}

const inMemory: LayerFactory = (config) => new InMemoryChannelLayer(config)
registerLayerBackend('channels.layers.InMemoryChannelLayer', inMemory)
registerLayerBackend('InMemoryChannelLayer', inMemory)
const redisCore: LayerFactory = (config) => new RedisChannelLayer(config)
registerLayerBackend('channels_redis.core.RedisChannelLayer', redisCore)
registerLayerBackend('RedisChannelLayer', redisCore)
const redisPubSub: LayerFactory = (config) => new RedisPubSubChannelLayer(config)
registerLayerBackend('channels_redis.pubsub.RedisPubSubChannelLayer', redisPubSub)
registerLayerBackend('RedisPubSubChannelLayer', redisPubSub)

/** Caches channel layers per alias, built lazily from the `CHANNEL_LAYERS` setting. */
export class ChannelLayerManager {
  private cache = new Map<string, ChannelLayer>()
  private source: unknown

  /** The `CHANNEL_LAYERS` setting (`{}` when unset). */
  get configs(): Readonly<Record<string, ChannelLayerConfig>> {
    const configs: unknown = getSettings().CHANNEL_LAYERS
    if (configs === null || typeof configs !== 'object' || Array.isArray(configs)) {
      throw new InvalidChannelLayerError(
        `CHANNEL_LAYERS must be an object of aliases, got ${describeValue(configs)}`,
      )
    }
    return configs as Readonly<Record<string, ChannelLayerConfig>>
  }

  /** The layers built (or set) so far, by alias. */
  get backends(): ReadonlyMap<string, ChannelLayer> {
    return this.sync()
  }

  /** Whether `alias` is configured in CHANNEL_LAYERS. */
  has(alias: string): boolean {
    return Object.hasOwn(this.configs, alias)
  }

  /** The layer for `alias`, built on first use; null when the alias is not configured. */
  get(alias: string = DEFAULT_CHANNEL_LAYER): ChannelLayer | null {
    const cache = this.sync()
    const cached = cache.get(alias)
    if (cached !== undefined) return cached
    if (!this.has(alias)) return null
    const layer = this.makeBackend(alias)
    cache.set(alias, layer)
    return layer
  }

  /** Put `layer` in place for `alias` (e.g. in a test) and return the one it replaced. */
  set(alias: string, layer: ChannelLayer | null): ChannelLayer | null {
    const cache = this.sync()
    const old = cache.get(alias) ?? null
    if (layer === null) cache.delete(alias)
    else cache.set(alias, layer)
    return old
  }

  /** Build a new (uncached) layer for `alias` from its CONFIG. */
  makeBackend(alias: string): ChannelLayer {
    const config = this.configFor(alias)
    return this.build(alias, config, config.CONFIG ?? {})
  }

  /** Build a new (uncached) layer for `alias` from its TEST_CONFIG. */
  makeTestBackend(alias: string): ChannelLayer {
    const config = this.has(alias) ? this.configs[alias] : undefined
    if (config?.TEST_CONFIG === undefined) {
      throw new InvalidChannelLayerError(`No TEST_CONFIG specified for ${alias}`)
    }
    return this.build(alias, config, config.TEST_CONFIG)
  }

  /** Close every cached layer and empty the cache. */
  async closeAll(): Promise<void> {
    const layers = [...this.sync().values()]
    this.cache.clear()
    const results = await Promise.allSettled(layers.map((layer) => layer.close()))
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, 'Closing channel layers failed')
  }

  private sync(): Map<string, ChannelLayer> {
    const source = getSettings().CHANNEL_LAYERS
    if (source !== this.source) {
      // Channels resets on Django's setting_changed signal; comparing identity is the same test.
      this.source = source
      this.cache = new Map()
    }
    return this.cache
  }

  private configFor(alias: string): ChannelLayerConfig {
    const config = this.has(alias) ? this.configs[alias] : undefined
    if (config === undefined) {
      throw new InvalidChannelLayerError(`No channel layer configured for ${alias}`)
    }
    return config
  }

  private build(
    alias: string,
    config: ChannelLayerConfig,
    options: Record<string, unknown>,
  ): ChannelLayer {
    // Checked as unknown: a settings file in JavaScript may hold anything.
    const given: unknown = config
    if (given === null || typeof given !== 'object') {
      throw new InvalidChannelLayerError(`CHANNEL_LAYERS[${alias}] must be an object`)
    }
    if (Object.hasOwn(config, 'ROUTING')) {
      throw new InvalidChannelLayerError(
        `ROUTING key found for ${alias} - this is no longer needed in Channels 2.`,
      )
    }
    const backend: unknown = config.BACKEND
    if (backend === undefined || backend === null || backend === '') {
      throw new InvalidChannelLayerError(`No BACKEND specified for ${alias}`)
    }
    // Exceptions thrown by the backend itself propagate unchanged (channels test
    // test_backend_import_error_not_hidden).
    let layer: unknown
    if (typeof backend === 'string') {
      const factory = BACKENDS.get(backend)
      if (factory === undefined) {
        throw new InvalidChannelLayerError(
          `Cannot import BACKEND ${pythonRepr(backend)} specified for ${alias}`,
        )
      }
      layer = factory(options)
    } else if (typeof backend === 'function') {
      layer = isClass(backend)
        ? new (backend as new (c: Record<string, unknown>) => unknown)(options)
        : (backend as (c: Record<string, unknown>) => unknown)(options)
    } else {
      throw new InvalidChannelLayerError(
        `Cannot import BACKEND ${backendText(backend)} specified for ${alias}`,
      )
    }
    if (!isLayer(layer)) {
      throw new InvalidChannelLayerError(
        `BACKEND for ${alias} did not produce a channel layer (got ${describeValue(layer)})`,
      )
    }
    return layer
  }
}

/** The process-wide manager (Channels' `channel_layers`). */
export const channelLayers = new ChannelLayerManager()

/** The layer for `alias`, or null when CHANNEL_LAYERS does not configure it (as in Channels). */
export function getChannelLayer(alias: string = DEFAULT_CHANNEL_LAYER): ChannelLayer | null {
  return channelLayers.get(alias)
}

/**
 * The layer for `alias`, for code that cannot work without one (a timer, a script, an HTTP view
 * that sends to a group): throws InvalidChannelLayerError naming CHANNEL_LAYERS when it is not
 * configured, where `getChannelLayer()` returns null.
 */
export function requireChannelLayer(alias: string = DEFAULT_CHANNEL_LAYER): ChannelLayer {
  const layer = channelLayers.get(alias)
  if (layer === null) {
    throw new InvalidChannelLayerError(
      `No channel layer is configured for alias '${alias}'. ${addLayerHint(alias)}`,
    )
  }
  return layer
}

/** How to configure a missing alias, for the errors that name one. */
export function addLayerHint(alias: string): string {
  return (
    `Add it to CHANNEL_LAYERS in settings, e.g. CHANNEL_LAYERS: { ${alias}: ` +
    `{ BACKEND: 'channels.layers.InMemoryChannelLayer' } }.`
  )
}

/** A BACKEND that is neither a name nor a class, as error messages show it. */
function backendText(backend: unknown): string {
  const primitive = typeof backend === 'number' || typeof backend === 'boolean'
  return primitive ? String(backend) : describeValue(backend)
}

function isClass(fn: object): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn))
}

function isLayer(value: unknown): value is ChannelLayer {
  if (value === null || typeof value !== 'object') return false
  const layer = value as Record<string, unknown>
  return typeof layer.send === 'function' && typeof layer.receive === 'function'
}

function pythonRepr(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}
