import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ImproperlyConfigured } from '../../../src/framework/asgi/errors.js'
import {
  BadSignature,
  b62Decode,
  b62Encode,
  constantTimeCompare,
  dumps,
  loads,
  SignatureExpired,
  Signer,
  TimestampSigner,
} from '../../../src/framework/middleware/signing.js'
import { configureSettings, type Settings } from '../../../src/framework/settings/index.js'

// Vectors computed with Python's hmac/hashlib/zlib/json following django.core.signing, at
// timestamp 1700000000 with key 'predictable-secret'.
const KEY = 'predictable-secret'
const T = 1_700_000_000_000
const VECTOR_PLAIN =
  'eyJhIjoiXHUwMGU5XHUyNjAzIiwibiI6WzEsMiwzXX0:1r31eq:aaHNZE76niuPOFpVSYNvWVp2D_6yIKkZ916sO7YFNsQ'
const VECTOR_COMPRESSED =
  '.eJyrVopPLC3JiC8tTi2Kz0xRslIyVNJRKkgEsSroAJRqAa4FOEo:1r31eq:V1Vb0sYCQpsrWkWGqT2wJq1U-OKNkybDdjjswNegkqU'

let previous: Settings
beforeEach(() => {
  previous = configureSettings({ SECRET_KEY: KEY })
})
afterEach(() => {
  configureSettings(previous)
  vi.useRealTimers()
})

describe('Django compatibility', () => {
  it('signs a plain value like Django', () => {
    expect(new Signer().sign('hello')).toBe('hello:T8oWtiMIRTzcoR3NRO-2PQNf5dTweZy0EL25Kt6lUo0')
  })

  it('dumps the same bytes as django.core.signing.dumps (non-ASCII escaped)', () => {
    vi.useFakeTimers({ now: T })
    expect(dumps({ a: 'é☃', n: [1, 2, 3] })).toBe(VECTOR_PLAIN)
  })

  it('compresses like Django and reads its output back', () => {
    vi.useFakeTimers({ now: T })
    const salt = 'django.contrib.sessions.backends.signed_cookies'
    const value = { _auth_user_id: '1', pad: 'x'.repeat(100) }
    expect(dumps(value, { salt, compress: true })).toBe(VECTOR_COMPRESSED)
    expect(loads(VECTOR_COMPRESSED, { salt })).toEqual(value)
    expect(loads(VECTOR_PLAIN)).toEqual({ a: 'é☃', n: [1, 2, 3] })
  })
})

describe('tampering', () => {
  it('rejects a changed payload', () => {
    const signed = dumps({ user: 'bob' })
    const [payload, ts, sig] = signed.split(':') as [string, string, string]
    const forged = Buffer.from(JSON.stringify({ user: 'admin' })).toString('base64url')
    expect(() => loads(`${forged}:${ts}:${sig}`)).toThrow(BadSignature)
    // Change the last character for sure (a fixed 'A' left a signature ending in 'A' intact).
    const other = sig.endsWith('A') ? 'Q' : 'A'
    expect(() => loads(`${payload}:${ts}:${sig.slice(0, -1)}${other}`)).toThrow(/does not match/)
  })

  it('rejects a value without a separator', () => {
    expect(() => new Signer().unsign('nosignature')).toThrow('No ":" found in value')
  })

  it('rejects a value signed with another key, unless it is a fallback key', () => {
    const signed = dumps('x', { key: 'old-key' })
    expect(() => loads(signed)).toThrow(BadSignature)
    expect(loads(signed, { fallbackKeys: ['old-key'] })).toBe('x')
  })

  it('rejects a value signed with another salt', () => {
    expect(() => loads(dumps('x', { salt: 'one' }), { salt: 'two' })).toThrow(BadSignature)
  })

  it('rejects a forged timestamp', () => {
    const signed = new TimestampSigner().sign('v')
    const [value, , sig] = signed.split(':')
    expect(() => new TimestampSigner().unsign(`${value}:1:${sig}`)).toThrow(BadSignature)
  })
})

describe('expiry', () => {
  it('accepts within max age and raises SignatureExpired after it', () => {
    vi.useFakeTimers({ now: T })
    const signed = dumps({ a: 1 })
    vi.setSystemTime(T + 10_000)
    expect(loads(signed, { maxAge: 20_000 })).toEqual({ a: 1 })
    vi.setSystemTime(T + 30_000)
    expect(() => loads(signed, { maxAge: 20_000 })).toThrow(SignatureExpired)
    expect(() => loads(signed, { maxAge: 20_000 })).toThrow(/Signature age 30 > 20 seconds/)
    // No max age: never expires.
    expect(loads(signed)).toEqual({ a: 1 })
  })
})

describe('configuration', () => {
  it('refuses an empty SECRET_KEY', () => {
    configureSettings({ SECRET_KEY: '' })
    expect(() => new Signer()).toThrow(ImproperlyConfigured)
    expect(() => dumps('x')).toThrow('The SECRET_KEY setting must not be empty.')
  })

  it('refuses unsafe separators', () => {
    expect(() => new Signer({ sep: 'a' })).toThrow(/Unsafe Signer separator/)
    expect(() => new Signer({ sep: '' })).toThrow(/Unsafe Signer separator/)
  })
})

describe('helpers', () => {
  it('round-trips base62', () => {
    for (const n of [0, 1, 61, 62, 1_700_000_000, -5]) expect(b62Decode(b62Encode(n))).toBe(n)
    expect(b62Encode(1_700_000_000)).toBe('1r31eq')
    expect(() => b62Decode('!!')).toThrow(BadSignature)
  })

  it('compares in constant time, including different lengths', () => {
    expect(constantTimeCompare('abc', 'abc')).toBe(true)
    expect(constantTimeCompare('abc', 'abd')).toBe(false)
    expect(constantTimeCompare('abc', 'abcd')).toBe(false)
  })
})
