/**
 * Django-compatible signing (`django.core.signing`): HMAC-SHA256 keyed by SECRET_KEY and a salt,
 * URL-safe base64, an optional base62 timestamp for max-age checks. A value signed here with the
 * same SECRET_KEY and salt verifies in Django and the other way round.
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { deflateSync, inflateSync } from 'node:zlib'
import { ChannelsError, ImproperlyConfigured } from '../asgi/errors.js'
import { getSettings } from '../settings/index.js'

/** A signature did not verify (tampered value, wrong key or salt, or malformed input). */
export class BadSignature extends ChannelsError {}

/** A timestamped signature verified but is older than `maxAge`. */
export class SignatureExpired extends BadSignature {}

/** How a signed object is turned into bytes and back. Django's default is compact JSON. */
export interface Serializer {
  dumps(value: unknown): Buffer
  loads(data: Buffer): unknown
}

/** Django's `JSONSerializer`: `json.dumps(obj, separators=(',', ':'))`, ASCII-only. */
export const JSONSerializer: Serializer = {
  // Python escapes non-ASCII (ensure_ascii=True); doing the same keeps signatures identical.
  dumps: (value) =>
    Buffer.from(
      JSON.stringify(value).replace(
        /[\u0080-\uffff]/g,
        (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
      ),
      'latin1',
    ),
  loads: (data) => JSON.parse(data.toString('latin1')) as unknown,
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const UNSAFE_SEP = /^[A-Za-z0-9_=-]*$/

/** URL-safe base64 without padding. */
export function b64Encode(data: Uint8Array): string {
  return Buffer.from(data).toString('base64url')
}

/** Inverse of {@link b64Encode}; padding is optional. */
export function b64Decode(text: string): Buffer {
  return Buffer.from(text, 'base64url')
}

/** Base62 of a (non-negative or negative) integer, as Django encodes timestamps. */
export function b62Encode(value: number): string {
  if (value === 0) return '0'
  const sign = value < 0 ? '-' : ''
  let n = Math.abs(value)
  let out = ''
  while (n > 0) {
    out = B62.charAt(n % 62) + out
    n = Math.floor(n / 62)
  }
  return sign + out
}

/** Inverse of {@link b62Encode}; throws BadSignature on characters outside the alphabet. */
export function b62Decode(text: string): number {
  if (text === '0') return 0
  const sign = text.startsWith('-') ? -1 : 1
  let n = 0
  for (const ch of sign < 0 ? text.slice(1) : text) {
    const digit = B62.indexOf(ch)
    if (digit < 0) throw new BadSignature(`Invalid timestamp ${JSON.stringify(text)}`)
    n = n * 62 + digit
  }
  return sign * n
}

/**
 * Django's `salted_hmac(...).digest()`: key = H(salt + secret), then HMAC-H of `value`. H is
 * SHA-256 (Django's signing and session auth hash since 3.1); `'sha1'` is its older default,
 * which Django 3.2 still reads in pre-3.1 session data and auth hashes.
 */
export function saltedHmac(
  salt: string,
  value: string,
  secret: string,
  algorithm: 'sha256' | 'sha1' = 'sha256',
): Buffer {
  const key = createHash(algorithm)
    .update(salt + secret, 'utf8')
    .digest()
  return createHmac(algorithm, key).update(value, 'utf8').digest()
}

/** Compare two strings without leaking where they differ (Django's `constant_time_compare`). */
export function constantTimeCompare(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8')
  const right = Buffer.from(b, 'utf8')
  // timingSafeEqual needs equal lengths; compare against self to spend the same time.
  if (left.length !== right.length) {
    timingSafeEqual(left, left)
    return false
  }
  return timingSafeEqual(left, right)
}

/** Options of {@link Signer}; `key` defaults to SECRET_KEY, read when the signer is built. */
export interface SignerOptions {
  key?: string
  /** Older keys still accepted when verifying (key rotation, Django's SECRET_KEY_FALLBACKS). */
  fallbackKeys?: readonly string[]
  sep?: string
  salt?: string
}

/** Options of `signObject`. */
export interface SignObjectOptions {
  serializer?: Serializer
  /** zlib-compress the payload when that makes it shorter (marked by a leading `.`). */
  compress?: boolean
}

/** Django's `Signer`: `value:signature`. */
export class Signer {
  readonly key: string
  readonly fallbackKeys: readonly string[]
  readonly sep: string
  readonly salt: string

  constructor(options: SignerOptions = {}) {
    const settings = getSettings()
    this.key = options.key ?? settings.SECRET_KEY
    if (!this.key) throw new ImproperlyConfigured('The SECRET_KEY setting must not be empty.')
    this.fallbackKeys =
      options.fallbackKeys ?? (settings.SECRET_KEY_FALLBACKS as string[] | undefined) ?? []
    this.sep = options.sep ?? ':'
    if (UNSAFE_SEP.test(this.sep)) {
      throw new ImproperlyConfigured(
        `Unsafe Signer separator: ${JSON.stringify(this.sep)} (cannot be empty or consist of only A-z0-9-_=)`,
      )
    }
    this.salt = options.salt ?? `django.core.signing.${new.target.name}`
  }

  /** The signature of `value` alone. */
  signature(value: string, key = this.key): string {
    return b64Encode(saltedHmac(`${this.salt}signer`, value, key))
  }

  /** `value` + separator + signature. */
  sign(value: string): string {
    return `${value}${this.sep}${this.signature(value)}`
  }

  /** The original value, or BadSignature. */
  unsign(signedValue: string): string {
    const at = signedValue.lastIndexOf(this.sep)
    if (at < 0) throw new BadSignature(`No "${this.sep}" found in value`)
    const value = signedValue.slice(0, at)
    const sig = signedValue.slice(at + this.sep.length)
    for (const key of [this.key, ...this.fallbackKeys]) {
      if (constantTimeCompare(sig, this.signature(value, key))) return value
    }
    throw new BadSignature(`Signature "${sig}" does not match`)
  }

  /** Serialize, optionally compress, base64 and sign an object. */
  signObject(value: unknown, options: SignObjectOptions = {}): string {
    const serializer = options.serializer ?? JSONSerializer
    let data = serializer.dumps(value)
    let compressed = false
    if (options.compress) {
      const deflated = deflateSync(data)
      if (deflated.length < data.length - 1) {
        data = deflated
        compressed = true
      }
    }
    return this.sign((compressed ? '.' : '') + b64Encode(data))
  }

  /** Verify and decode what {@link Signer.signObject} produced. */
  unsignObject(
    signed: string,
    options: { serializer?: Serializer; maxAge?: number } = {},
  ): unknown {
    const payload = this.unsignWith(signed, options.maxAge)
    const compressed = payload.startsWith('.')
    let data = b64Decode(compressed ? payload.slice(1) : payload)
    try {
      if (compressed) data = inflateSync(data)
      return (options.serializer ?? JSONSerializer).loads(data)
    } catch (err) {
      // Only reachable with the right key, i.e. a bug or a different serializer.
      throw new BadSignature('Signed payload could not be decoded', { cause: err })
    }
  }

  protected unsignWith(signed: string, _maxAge?: number): string {
    return this.unsign(signed)
  }
}

/** Django's `TimestampSigner`: `value:timestamp:signature`, checked against a max age. */
export class TimestampSigner extends Signer {
  /** Seconds since the epoch in base62 (Django's unit). */
  timestamp(): string {
    return b62Encode(Math.floor(Date.now() / 1000))
  }

  override sign(value: string): string {
    return super.sign(`${value}${this.sep}${this.timestamp()}`)
  }

  /**
   * The original value, or BadSignature; SignatureExpired when older than `maxAge`
   * (MILLISECONDS, like every time value in the JS API).
   */
  override unsign(signedValue: string, maxAge?: number): string {
    const result = super.unsign(signedValue)
    const at = result.lastIndexOf(this.sep)
    if (at < 0) throw new BadSignature(`No "${this.sep}" found in value`)
    const timestamp = b62Decode(result.slice(at + this.sep.length))
    if (maxAge !== undefined) {
      const age = Date.now() / 1000 - timestamp
      if (age > maxAge / 1000) {
        throw new SignatureExpired(`Signature age ${age} > ${maxAge / 1000} seconds`)
      }
    }
    return result.slice(0, at)
  }

  protected override unsignWith(signed: string, maxAge?: number): string {
    return this.unsign(signed, maxAge)
  }
}

/** Options of {@link dumps}/{@link loads}; `salt` defaults to Django's `'django.core.signing'`. */
export interface DumpsOptions extends SignObjectOptions {
  key?: string
  salt?: string
}

/** Django's `signing.dumps`: a URL-safe, timestamped, signed JSON string. */
export function dumps(value: unknown, options: DumpsOptions = {}): string {
  const signer = new TimestampSigner({
    ...(options.key !== undefined && { key: options.key }),
    salt: options.salt ?? 'django.core.signing',
  })
  return signer.signObject(value, options)
}

/**
 * Django's `signing.loads`: the object, or BadSignature / SignatureExpired (`maxAge` in ms).
 */
export function loads(
  signed: string,
  options: {
    key?: string
    salt?: string
    maxAge?: number
    serializer?: Serializer
    fallbackKeys?: readonly string[]
  } = {},
): unknown {
  const signer = new TimestampSigner({
    ...(options.key !== undefined && { key: options.key }),
    ...(options.fallbackKeys !== undefined && { fallbackKeys: options.fallbackKeys }),
    salt: options.salt ?? 'django.core.signing',
  })
  return signer.unsignObject(signed, options)
}
