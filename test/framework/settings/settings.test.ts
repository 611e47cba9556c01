import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  DEFAULT_SETTINGS,
  configureSettings,
  defineSettings,
  getSettings,
  onSettingsChange,
  overrideSettings,
} from '../../../src/framework/settings/index.js'

afterEach(() => {
  configureSettings({})
})

describe('defaults', () => {
  it('match Django where the framework reads them', () => {
    const s = getSettings()
    expect(s.DEBUG).toBe(false)
    expect(s.ALLOWED_HOSTS).toEqual([])
    expect(s.CHANNEL_LAYERS).toEqual({})
    expect(s.SECRET_KEY).toBe('')
    expect(s.STATIC_URL).toBe('/static/')
    expect(s.STATICFILES_DIRS).toEqual([])
    expect(s.SESSION_ENGINE).toBe('db')
    expect(s.SESSION_COOKIE_NAME).toBe('sessionid')
    expect(s.SESSION_COOKIE_AGE).toBe(1209600)
    expect(s.SESSION_COOKIE_PATH).toBe('/')
    expect(s.SESSION_COOKIE_SECURE).toBe(false)
    expect(s.SESSION_COOKIE_HTTPONLY).toBe(true)
    expect(s.SESSION_COOKIE_SAMESITE).toBe('Lax')
    expect(s.SESSION_SAVE_EVERY_REQUEST).toBe(false)
    expect(s.SESSION_EXPIRE_AT_BROWSER_CLOSE).toBe(false)
    expect(s.SESSION_COOKIE_DOMAIN).toBeUndefined()
    expect(s.STATIC_ROOT).toBeUndefined()
    expect(s.FORCE_SCRIPT_NAME).toBeUndefined()
    expect(s.ASGI_APPLICATION).toBeUndefined()
  })

  it('are frozen, so nobody changes them for everyone', () => {
    expect(Object.isFrozen(DEFAULT_SETTINGS)).toBe(true)
    expect(Object.isFrozen(DEFAULT_SETTINGS.ALLOWED_HOSTS)).toBe(true)
    expect(() => {
      ;(getSettings() as Record<string, unknown>).DEBUG = true
    }).toThrow(TypeError)
  })
})

describe('configureSettings / getSettings', () => {
  it('merges the project settings over the defaults, user keys included', () => {
    configureSettings({ DEBUG: true, ALLOWED_HOSTS: ['example.com'], MY_KEY: 'mine' })
    const s = getSettings()
    expect(s.DEBUG).toBe(true)
    expect(s.ALLOWED_HOSTS).toEqual(['example.com'])
    expect(s.MY_KEY).toBe('mine')
    expect(s.SESSION_COOKIE_NAME).toBe('sessionid')
  })

  it('replaces rather than merges with the previous settings, returning them', () => {
    const first = { DEBUG: true }
    expect(configureSettings(first)).toEqual({})
    expect(configureSettings({ SECRET_KEY: 'x' })).toBe(first)
    expect(getSettings().DEBUG).toBe(false)
  })

  it('treats an explicit undefined as unset', () => {
    configureSettings({ SESSION_COOKIE_NAME: undefined, DEBUG: undefined })
    expect(getSettings().SESSION_COOKIE_NAME).toBe('sessionid')
    expect(getSettings().DEBUG).toBe(false)
  })

  it('returns the same object until the settings change, keeping CHANNEL_LAYERS identity', () => {
    const CHANNEL_LAYERS = { default: { BACKEND: 'InMemoryChannelLayer' } }
    configureSettings({ CHANNEL_LAYERS })
    const s = getSettings()
    expect(getSettings()).toBe(s)
    expect(s.CHANNEL_LAYERS).toBe(CHANNEL_LAYERS)
  })

  it.each([[null], [undefined], ['settings'], [[1]], [42]])('refuses %s', (bad) => {
    expect(() => configureSettings(bad as never)).toThrow(TypeError)
    expect(() => configureSettings(bad as never)).toThrow(/^Settings must be an object/)
  })

  it('defineSettings returns its argument', () => {
    const settings = { DEBUG: true, ASGI_APPLICATION: 'mysite.routing.application' }
    expect(defineSettings(settings)).toBe(settings)
  })
})

describe('overrideSettings', () => {
  it('applies over the current settings and restores afterwards (sync)', () => {
    configureSettings({ DEBUG: true, SECRET_KEY: 'k' })
    const result = overrideSettings({ SECRET_KEY: 'other' }, () => {
      expect(getSettings().DEBUG).toBe(true)
      expect(getSettings().SECRET_KEY).toBe('other')
      return 'value'
    })
    expect(result).toBe('value')
    expect(getSettings().SECRET_KEY).toBe('k')
  })

  it('restores when fn throws', () => {
    const err = new Error('boom')
    expect(() =>
      overrideSettings({ DEBUG: true }, () => {
        throw err
      }),
    ).toThrow(err)
    expect(getSettings().DEBUG).toBe(false)
  })

  it('restores after an async fn resolves', async () => {
    let seen: boolean | undefined
    const value = await overrideSettings({ DEBUG: true }, async () => {
      await new Promise((r) => setImmediate(r))
      seen = getSettings().DEBUG
      return 7
    })
    expect(seen).toBe(true)
    expect(value).toBe(7)
    expect(getSettings().DEBUG).toBe(false)
  })

  it('stays in effect until the async fn settles', async () => {
    let release!: () => void
    const done = overrideSettings({ DEBUG: true }, () => new Promise<void>((r) => (release = r)))
    await new Promise((r) => setImmediate(r))
    expect(getSettings().DEBUG).toBe(true)
    release()
    await done
    expect(getSettings().DEBUG).toBe(false)
  })

  it('restores after an async fn rejects, passing the rejection on', async () => {
    const err = new Error('async boom')
    await expect(
      overrideSettings({ DEBUG: true }, async () => {
        throw err
      }),
    ).rejects.toBe(err)
    expect(getSettings().DEBUG).toBe(false)
  })

  it('nests', () => {
    overrideSettings({ DEBUG: true }, () => {
      overrideSettings({ SECRET_KEY: 'inner' }, () => {
        expect(getSettings().DEBUG).toBe(true)
        expect(getSettings().SECRET_KEY).toBe('inner')
      })
      expect(getSettings().SECRET_KEY).toBe('')
      expect(getSettings().DEBUG).toBe(true)
    })
    expect(getSettings().DEBUG).toBe(false)
  })
})

describe('onSettingsChange', () => {
  it('tells listeners the new and previous settings, until unsubscribed', () => {
    const listener = vi.fn()
    const off = onSettingsChange(listener)
    const before = getSettings()
    configureSettings({ DEBUG: true })
    expect(listener).toHaveBeenCalledOnce()
    expect(listener).toHaveBeenCalledWith(getSettings(), before)
    overrideSettings({ SECRET_KEY: 's' }, () => {})
    expect(listener).toHaveBeenCalledTimes(3)
    off()
    configureSettings({})
    expect(listener).toHaveBeenCalledTimes(3)
  })
})

describe('overrideSettings bad input', () => {
  it.each([[null], ['DEBUG'], [[['DEBUG', true]]]])('refuses %s as the override', (bad) => {
    expect(() => overrideSettings(bad as never, () => {})).toThrow(
      /^overrideSettings needs an object of settings/,
    )
    expect(getSettings().DEBUG).toBe(false)
  })

  it('refuses a missing function without changing settings', () => {
    expect(() => overrideSettings({ DEBUG: true }, undefined as never)).toThrow(
      'overrideSettings needs a function to run, got undefined',
    )
    expect(getSettings().DEBUG).toBe(false)
  })
})
