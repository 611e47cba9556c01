import { afterEach, describe, expect, it, vi } from 'vitest'
import { InvalidChannelLayerError } from '../../../src/framework/asgi/errors.js'
import { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import {
  ChannelLayerManager,
  channelLayers,
  getChannelLayer,
  registerLayerBackend,
  requireChannelLayer,
} from '../../../src/framework/layers/registry.js'
import type { ChannelLayer } from '../../../src/framework/layers/types.js'
import { configureSettings, overrideSettings } from '../../../src/framework/settings/settings.js'

const IN_MEMORY = { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } }

afterEach(() => {
  configureSettings({})
})

describe('ChannelLayerManager (tests/test_layers.py)', () => {
  it('test_config_error: makeTestBackend without TEST_CONFIG', () => {
    overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, () => {
      expect(() => channelLayers.makeTestBackend('default')).toThrow(
        new InvalidChannelLayerError('No TEST_CONFIG specified for default'),
      )
      expect(() => channelLayers.makeTestBackend('default')).toThrow(InvalidChannelLayerError)
    })
  })

  it('makeTestBackend of an unconfigured alias says the same', () => {
    expect(() => channelLayers.makeTestBackend('nope')).toThrow(
      new InvalidChannelLayerError('No TEST_CONFIG specified for nope'),
    )
  })

  it('test_config_instance: TEST_CONFIG is applied, and the result is not cached', () => {
    const CHANNEL_LAYERS = {
      default: {
        BACKEND: 'channels.layers.InMemoryChannelLayer',
        TEST_CONFIG: { expiry: 100500 },
      },
    }
    overrideSettings({ CHANNEL_LAYERS }, () => {
      const layer = channelLayers.makeTestBackend('default')
      expect(layer).toBeInstanceOf(InMemoryChannelLayer)
      expect(layer).toMatchObject({ expiry: 100500 })
      expect(channelLayers.backends.size).toBe(0)
      expect((getChannelLayer() as InMemoryChannelLayer).expiry).toBe(60)
    })
  })

  it('test_override_settings: the cache resets when CHANNEL_LAYERS changes', () => {
    overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, () => {
      expect(channelLayers.backends.size).toBe(0)
      getChannelLayer()
      expect(channelLayers.backends.size).not.toBe(0)
    })
    expect(channelLayers.backends.size).toBe(0)
  })

  it('test_override_settings (async): restores after the promise settles', async () => {
    let inside: ChannelLayer | null = null
    await overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, async () => {
      await Promise.resolve()
      inside = getChannelLayer()
    })
    expect(inside).toBeInstanceOf(InMemoryChannelLayer)
    expect(getChannelLayer()).toBeNull()
  })

  it('requireChannelLayer gives the same layer, or throws naming CHANNEL_LAYERS', () => {
    expect(() => requireChannelLayer()).toThrow(
      new InvalidChannelLayerError(
        "No channel layer is configured for alias 'default'. Add it to CHANNEL_LAYERS in " +
          "settings, e.g. CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } }.",
      ),
    )
    expect(() => requireChannelLayer('other')).toThrow(/alias 'other'.*CHANNEL_LAYERS: \{ other:/)
    overrideSettings({ CHANNEL_LAYERS: IN_MEMORY }, () => {
      expect(requireChannelLayer()).toBe(getChannelLayer())
      expect(() => requireChannelLayer('other')).toThrow(InvalidChannelLayerError)
    })
  })

  it('keeps the cache when other settings change', () => {
    configureSettings({ CHANNEL_LAYERS: IN_MEMORY })
    const layer = getChannelLayer()
    overrideSettings({ DEBUG: true }, () => {
      expect(getChannelLayer()).toBe(layer)
    })
    expect(getChannelLayer()).toBe(layer)
  })

  it('test_backend_import_error_not_hidden: constructor errors propagate unchanged', () => {
    const boom = new Error("KeyError: 'hosts'")
    class BrokenBackend {
      constructor() {
        throw boom
      }
    }
    configureSettings({
      CHANNEL_LAYERS: { default: { BACKEND: BrokenBackend as never } },
    })
    let caught: unknown
    try {
      getChannelLayer()
    } catch (err) {
      caught = err
    }
    expect(caught).toBe(boom)
    // The same for a named backend and a factory.
    registerLayerBackend('tests.BrokenBackend', () => {
      throw boom
    })
    configureSettings({ CHANNEL_LAYERS: { default: { BACKEND: 'tests.BrokenBackend' } } })
    expect(() => getChannelLayer()).toThrow(boom)
  })

  it('test_send_receive through the configured layer', async () => {
    configureSettings({ CHANNEL_LAYERS: IN_MEMORY })
    const layer = getChannelLayer() as ChannelLayer
    const message = { type: 'test.message' }
    await layer.send('test.channel', message)
    expect(await layer.receive('test.channel')).toEqual(message)
  })
})

describe('getChannelLayer', () => {
  it('returns null for an unconfigured alias, also with no settings at all', () => {
    expect(getChannelLayer()).toBeNull()
    configureSettings({ CHANNEL_LAYERS: IN_MEMORY })
    expect(getChannelLayer('other')).toBeNull()
    expect(channelLayers.has('default')).toBe(true)
    expect(channelLayers.has('other')).toBe(false)
  })

  it('caches one instance per alias', () => {
    configureSettings({
      CHANNEL_LAYERS: { default: { BACKEND: 'InMemoryChannelLayer' }, other: IN_MEMORY.default },
    })
    const a = getChannelLayer()
    expect(getChannelLayer('default')).toBe(a)
    expect(channelLayers.get('default')).toBe(a)
    expect(getChannelLayer('other')).not.toBe(a)
  })

  it('passes CONFIG (Channels spelling) to the backend', () => {
    configureSettings({
      CHANNEL_LAYERS: {
        default: {
          BACKEND: 'InMemoryChannelLayer',
          CONFIG: { capacity: 7, group_expiry: 5, channel_capacity: { 'x.*': 2 } },
        },
      },
    })
    const layer = getChannelLayer() as InMemoryChannelLayer
    expect(layer.capacity).toBe(7)
    expect(layer.groupExpiry).toBe(5)
    expect(layer.getCapacity('x.y')).toBe(2)
  })

  it('accepts a class or a factory as BACKEND', () => {
    const factory = vi.fn((config: Record<string, unknown>) => new InMemoryChannelLayer(config))
    configureSettings({
      CHANNEL_LAYERS: {
        cls: { BACKEND: InMemoryChannelLayer, CONFIG: { capacity: 3 } },
        fn: { BACKEND: factory, CONFIG: { capacity: 4 } },
      },
    })
    expect((getChannelLayer('cls') as InMemoryChannelLayer).capacity).toBe(3)
    expect((getChannelLayer('fn') as InMemoryChannelLayer).capacity).toBe(4)
    expect(factory).toHaveBeenCalledWith({ capacity: 4 })
  })

  it('lets a new backend name plug in', () => {
    const made: ChannelLayer[] = []
    const previous = registerLayerBackend('thirdparty.layers.CustomLayer', (config) => {
      const layer = new InMemoryChannelLayer({ capacity: config.capacity as number })
      made.push(layer)
      return layer
    })
    expect(previous).toBeUndefined()
    configureSettings({
      CHANNEL_LAYERS: {
        default: { BACKEND: 'thirdparty.layers.CustomLayer', CONFIG: { capacity: 9 } },
      },
    })
    expect(getChannelLayer()).toBe(made[0])
  })
})

describe('configuration errors', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['no BACKEND', {}, 'No BACKEND specified for default'],
    ['an empty BACKEND', { BACKEND: '' }, 'No BACKEND specified for default'],
    [
      'an unknown BACKEND name',
      { BACKEND: 'channels.layers.NoSuchLayer' },
      "Cannot import BACKEND 'channels.layers.NoSuchLayer' specified for default",
    ],
    [
      'a BACKEND of the wrong type',
      { BACKEND: 42 },
      'Cannot import BACKEND 42 specified for default',
    ],
    [
      'a ROUTING key',
      { BACKEND: 'InMemoryChannelLayer', ROUTING: 'x.routing' },
      'ROUTING key found for default - this is no longer needed in Channels 2.',
    ],
    [
      'a factory that returns no layer',
      { BACKEND: () => undefined },
      'BACKEND for default did not produce a channel layer (got undefined)',
    ],
    [
      'an old-style constructor function',
      { BACKEND: function OldStyle() {} },
      'BACKEND for default did not produce a channel layer (got undefined)',
    ],
    [
      'a factory that returns a non-layer object',
      { BACKEND: () => ({ send() {} }) },
      'BACKEND for default did not produce a channel layer (got an object)',
    ],
    [
      'a non-object entry',
      'InMemoryChannelLayer' as never,
      'CHANNEL_LAYERS[default] must be an object',
    ],
  ]
  for (const [label, config, message] of cases) {
    it(`${label} → InvalidChannelLayerError`, () => {
      configureSettings({ CHANNEL_LAYERS: { default: config as never } })
      expect(() => getChannelLayer()).toThrow(InvalidChannelLayerError)
      expect(() => getChannelLayer()).toThrow(new InvalidChannelLayerError(message))
    })
  }

  it("a bad CONFIG propagates the layer's own error", () => {
    configureSettings({
      CHANNEL_LAYERS: { default: { BACKEND: 'InMemoryChannelLayer', CONFIG: { hosts: [] } } },
    })
    expect(() => getChannelLayer()).toThrow(
      new TypeError("InMemoryChannelLayer got an unexpected option 'hosts'"),
    )
  })

  it('makeBackend of an unconfigured alias', () => {
    expect(() => channelLayers.makeBackend('ghost')).toThrow(
      new InvalidChannelLayerError('No channel layer configured for ghost'),
    )
  })
})

describe('set and closeAll', () => {
  it('set swaps a layer in and returns the old one', () => {
    configureSettings({ CHANNEL_LAYERS: IN_MEMORY })
    const original = getChannelLayer()
    const replacement = new InMemoryChannelLayer()
    expect(channelLayers.set('default', replacement)).toBe(original)
    expect(getChannelLayer()).toBe(replacement)
    expect(channelLayers.set('default', null)).toBe(replacement)
    expect(getChannelLayer()).not.toBe(replacement)
  })

  it('set works for an alias settings do not configure', () => {
    const layer = new InMemoryChannelLayer()
    expect(channelLayers.set('testlayer', layer)).toBeNull()
    expect(getChannelLayer('testlayer')).toBe(layer)
    expect(channelLayers.set('testlayer', null)).toBe(layer)
    expect(getChannelLayer('testlayer')).toBeNull()
  })

  it('closeAll closes every cached layer and empties the cache', async () => {
    configureSettings({
      CHANNEL_LAYERS: { default: IN_MEMORY.default, other: IN_MEMORY.default },
    })
    const a = getChannelLayer() as ChannelLayer
    const b = getChannelLayer('other') as ChannelLayer
    const closeA = vi.spyOn(a, 'close')
    const closeB = vi.spyOn(b, 'close')
    await channelLayers.closeAll()
    expect(closeA).toHaveBeenCalledOnce()
    expect(closeB).toHaveBeenCalledOnce()
    expect(channelLayers.backends.size).toBe(0)
    expect(getChannelLayer()).not.toBe(a)
  })

  it('closeAll reports close failures after closing the rest', async () => {
    const manager = new ChannelLayerManager()
    const good = new InMemoryChannelLayer()
    const bad1 = new InMemoryChannelLayer()
    const bad2 = new InMemoryChannelLayer()
    const closeGood = vi.spyOn(good, 'close')
    vi.spyOn(bad1, 'close').mockRejectedValue(new Error('one'))
    manager.set('bad1', bad1)
    manager.set('good', good)
    await expect(manager.closeAll()).rejects.toThrow('one')
    expect(closeGood).toHaveBeenCalledOnce()
    vi.spyOn(bad2, 'close').mockRejectedValue(new Error('two'))
    manager.set('bad1', bad1)
    manager.set('bad2', bad2)
    await expect(manager.closeAll()).rejects.toBeInstanceOf(AggregateError)
  })
})

describe('a malformed CHANNEL_LAYERS setting', () => {
  it.each([
    [null, 'null'],
    ['redis', 'a string'],
    [[IN_MEMORY.default], 'an array'],
  ])('%s → InvalidChannelLayerError', (value, detail) => {
    configureSettings({ CHANNEL_LAYERS: value as never })
    expect(() => getChannelLayer()).toThrow(
      new InvalidChannelLayerError(`CHANNEL_LAYERS must be an object of aliases, got ${detail}`),
    )
  })
})
