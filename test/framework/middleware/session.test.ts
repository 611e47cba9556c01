import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createSession } from '../../../src/framework/middleware/sessions/engine.js'
import { EXPIRY_KEY } from '../../../src/framework/middleware/sessions/session.js'
import { StoreSession } from '../../../src/framework/middleware/sessions/store-session.js'
import { MemorySessionStore } from '../../../src/framework/middleware/sessions/memory-store.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { useSettings } from './helpers.js'

let restore: () => void
beforeEach(() => {
  restore = useSettings({ SESSION_ENGINE: 'memory' })
})
afterEach(() => {
  restore()
  vi.useRealTimers()
})

describe('Session (Django SessionBase)', () => {
  it('tracks modified and accessed', async () => {
    const session = await createSession()
    expect(session.modified).toBe(false)
    expect(session.get('a')).toBeUndefined()
    expect(session.accessed).toBe(true)
    expect(session.modified).toBe(false)
    session.set('a', 1)
    expect(session.modified).toBe(true)
  })

  it('behaves like a dict', async () => {
    const session = await createSession()
    session.set('a', 1).set('b', 2)
    expect(session.has('a')).toBe(true)
    expect(session.get('missing', 'fallback')).toBe('fallback')
    expect(session.pop('a')).toBe(1)
    expect(session.has('a')).toBe(false)
    expect(session.setDefault('c', 3)).toBe(3)
    expect(session.setDefault('c', 4)).toBe(3)
    session.update({ d: 4 })
    expect(session.keys().sort()).toEqual(['b', 'c', 'd'])
    expect(session.delete('b')).toBe(true)
    expect(session.delete('b')).toBe(false)
    expect(session.entries()).toEqual([
      ['c', 3],
      ['d', 4],
    ])
    session.clear()
    expect(session.keys()).toEqual([])
    // Inherited Object properties are not keys.
    expect(session.has('toString')).toBe(false)
  })

  it('isEmpty: no key and no data', async () => {
    const session = await createSession()
    expect(session.isEmpty()).toBe(true)
    session.set('a', 1)
    expect(session.isEmpty()).toBe(false)
    session.clear()
    await session.save()
    // A saved (keyed) session is not empty even without data.
    expect(session.isEmpty()).toBe(false)
  })

  it('ignores keys shorter than 8 characters', async () => {
    const session = await createSession('short')
    expect(session.sessionKey).toBeNull()
  })

  it('an unloaded keyed session refuses synchronous reads', () => {
    const session = new StoreSession(new MemorySessionStore(), 'abcdefgh12345678')
    expect(() => session.get('a')).toThrow(
      'Session data is not loaded yet: await session.load() first.',
    )
  })

  it('expiry: default SESSION_COOKIE_AGE, ms, Date, 0 and null', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1), toFake: ['Date'] })
    const session = await createSession()
    expect(session.getExpiryAge()).toBe(1_209_600_000)
    session.setExpiry(300_000)
    expect(session.get(EXPIRY_KEY)).toBe(300)
    expect(session.getExpiryAge()).toBe(300_000)
    expect(session.getExpiryDate().toISOString()).toBe('2026-01-01T00:05:00.000Z')
    session.setExpiry(new Date(Date.UTC(2026, 0, 2)))
    expect(session.get(EXPIRY_KEY)).toBe('2026-01-02T00:00:00.000Z')
    expect(session.getExpiryAge()).toBe(86_400_000)
    session.setExpiry(0)
    expect(session.getExpireAtBrowserClose()).toBe(true)
    session.setExpiry(null)
    expect(session.has(EXPIRY_KEY)).toBe(false)
    expect(session.getExpireAtBrowserClose()).toBe(false)
    await overrideSettings(
      { SESSION_EXPIRE_AT_BROWSER_CLOSE: true, SESSION_COOKIE_AGE: 60 },
      async () => {
        expect(session.getExpireAtBrowserClose()).toBe(true)
        expect(session.getExpiryAge()).toBe(60_000)
      },
    )
  })

  it('flush empties the session, drops its key and deletes it from the store', async () => {
    const session = await createSession()
    session.set('a', 1)
    await session.save()
    const key = session.sessionKey
    await session.flush()
    expect(session.sessionKey).toBeNull()
    expect(session.isEmpty()).toBe(true)
    expect((await createSession(key)).sessionKey).toBeNull()
  })

  it('rejects data that cannot be serialized as JSON', async () => {
    const session = await createSession()
    session.set('n', 10n)
    await expect(session.save()).rejects.toThrow(TypeError)
  })
})
