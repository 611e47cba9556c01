/**
 * Fernet and MultiFernet, token-compatible with Python's `cryptography.fernet`, on node:crypto.
 *
 * A key is 32 bytes, url-safe base64 encoded: the first 16 sign (HMAC-SHA256), the last 16
 * encrypt (AES-128-CBC, PKCS7 padding). A token is the url-safe base64 (with `=` padding, as
 * Python emits it) of `0x80 ‖ timestamp (8 bytes, big-endian seconds) ‖ IV (16) ‖ ciphertext ‖
 * HMAC (32)`, the HMAC covering everything before it.
 *
 * Decryption follows Python's rules: with a `ttl`, a token older than `ttl` seconds, or stamped
 * more than 60 s in the future, is invalid. Keys and tokens are base64-decoded as Python 3.11's
 * `urlsafe_b64decode` does, so both accept and refuse the same text: either alphabet, stray
 * characters skipped, decoding ending at the `=` that completes a quad.
 *
 * `channelsRedisFernet` derives a Fernet from a `symmetric_encryption_keys` entry exactly as
 * channels_redis's `make_fernet` does.
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto'
import { ChannelsError, ValueError } from '../../asgi/errors.js'

/** Python's `_MAX_CLOCK_SKEW`: how far in the future a token's timestamp may be, in seconds. */
export const MAX_CLOCK_SKEW = 60

const VERSION = 0x80
const HEADER_LENGTH = 1 + 8 + 16
const HMAC_LENGTH = 32
const BLOCK = 16
const KEY_ERROR = 'Fernet key must be 32 url-safe base64-encoded bytes.'

/** Why a token was refused; Python does not say, but a log line can. */
export type InvalidTokenReason = 'format' | 'signature' | 'expired' | 'future'

const REASON_TEXT: Record<InvalidTokenReason, string> = {
  format: 'not a Fernet token',
  signature: 'signature does not match (wrong key, or altered)',
  expired: 'token is older than its ttl',
  future: `token is timestamped more than ${MAX_CLOCK_SKEW} s in the future`,
}

/** A token that cannot be decrypted: bad format, bad signature, or outside its time window. */
export class InvalidToken extends ChannelsError {
  constructor(
    public readonly reason: InvalidTokenReason,
    message = `Invalid Fernet token: ${REASON_TEXT[reason]}`,
  ) {
    super(message)
  }
}

/** A token's bytes after base64, with its timestamp, before any check of signature or time. */
interface ParsedToken {
  data: Buffer
  timestamp: number
}

export class Fernet {
  readonly #signingKey: Buffer
  readonly #encryptionKey: Buffer

  /** `key`: 32 bytes, url-safe base64 encoded, as text or as its ASCII bytes (like Python). */
  constructor(key: string | Uint8Array) {
    const raw = urlsafeB64Decode(key)
    if (raw === undefined || raw.length !== 32) throw new ValueError(KEY_ERROR)
    this.#signingKey = raw.subarray(0, 16)
    this.#encryptionKey = raw.subarray(16)
  }

  /**
   * Encrypt `data` into a token (its ASCII bytes, as Python returns). `now`: the timestamp in
   * seconds (default: the current time), for tests and for Python's `encrypt_at_time`.
   */
  encrypt(data: Uint8Array, now?: number): Buffer {
    const time = now === undefined ? currentTime() : Math.floor(now)
    if (!Number.isSafeInteger(time) || time < 0) {
      throw new TypeError(`Fernet timestamp must be a non-negative number of seconds, got ${now}`)
    }
    const iv = freshIv()
    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, iv)
    const first = cipher.update(data)
    const last = cipher.final()
    const length = HEADER_LENGTH + first.length + last.length
    const token = Buffer.allocUnsafe(length + HMAC_LENGTH)
    token[0] = VERSION
    token.writeBigUInt64BE(BigInt(time), 1)
    iv.copy(token, 9)
    first.copy(token, HEADER_LENGTH)
    last.copy(token, HEADER_LENGTH + first.length)
    createHmac('sha256', this.#signingKey)
      .update(token.subarray(0, length))
      .digest()
      .copy(token, length)
    return encodeBase64UrlPadded(token)
  }

  /**
   * Decrypt a token (text or ASCII bytes). With `ttl` (seconds), refuse a token older than that
   * or stamped more than 60 s ahead of `now` (default: the current time, in seconds).
   * @throws InvalidToken
   */
  decrypt(token: string | Uint8Array, ttl?: number, now?: number): Buffer {
    return this.decryptParsed(parseToken(token), ttl, now)
  }

  /** @internal Decrypt an already parsed token; MultiFernet parses once for all its keys. */
  decryptParsed(token: ParsedToken, ttl: number | undefined, now: number | undefined): Buffer {
    const { data, timestamp } = token
    // The signature is checked before the time (Python checks time first; either way the
    // token is refused) so the reason given for a wrong key is the key, not the clock.
    const signed = data.length - HMAC_LENGTH
    if (signed < HEADER_LENGTH) throw new InvalidToken('signature')
    const expected = createHmac('sha256', this.#signingKey)
      .update(data.subarray(0, signed))
      .digest()
    if (!timingSafeEqual(expected, data.subarray(signed))) throw new InvalidToken('signature')
    if (ttl !== undefined) {
      const current = now ?? currentTime()
      if (timestamp + ttl < current) throw new InvalidToken('expired')
      if (current + MAX_CLOCK_SKEW < timestamp) throw new InvalidToken('future')
    }
    const ciphertext = data.subarray(HEADER_LENGTH, signed)
    if (ciphertext.length === 0 || ciphertext.length % BLOCK !== 0) {
      throw new InvalidToken('format')
    }
    const decipher = createDecipheriv(
      'aes-128-cbc',
      this.#encryptionKey,
      data.subarray(9, HEADER_LENGTH),
    )
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()])
    } catch {
      // Bad PKCS7 padding under a valid signature: only a producer with our key but a bug.
      throw new InvalidToken('format')
    }
  }
}

/** Encrypts with the first Fernet; decrypts with whichever one accepts the token (Python). */
export class MultiFernet {
  readonly #fernets: readonly Fernet[]

  constructor(fernets: Iterable<Fernet>) {
    this.#fernets = [...fernets]
    if (this.#fernets.length === 0) {
      throw new ValueError('MultiFernet requires at least one Fernet instance')
    }
  }

  encrypt(data: Uint8Array, now?: number): Buffer {
    return this.#fernets[0]!.encrypt(data, now)
  }

  /**
   * Try each Fernet in turn. The InvalidToken thrown when none accepts it names the most useful
   * reason: a time-window failure under a matching key beats "signature" from the others.
   * @throws InvalidToken
   */
  decrypt(token: string | Uint8Array, ttl?: number, now?: number): Buffer {
    const parsed = parseToken(token)
    let failure: InvalidToken | undefined
    for (const fernet of this.#fernets) {
      try {
        return fernet.decryptParsed(parsed, ttl, now)
      } catch (error) {
        if (!(error instanceof InvalidToken)) throw error
        if (failure === undefined || failure.reason === 'signature') failure = error
      }
    }
    throw failure ?? new InvalidToken('signature')
  }
}

/**
 * channels_redis's `make_fernet`: a string key's UTF-8 bytes (or the given bytes) → SHA-256 →
 * url-safe base64 → Fernet. Any string or byte string is therefore a usable key.
 */
export function channelsRedisFernet(key: string | Uint8Array): Fernet {
  const digest = createHash('sha256')
    .update(typeof key === 'string' ? Buffer.from(key, 'utf8') : key)
    .digest()
  return new Fernet(encodeBase64UrlPadded(digest))
}

let ivPool = Buffer.alloc(0)
let ivOffset = 0

/**
 * 16 random bytes, cut from a pool refilled 256 IVs at a time: one randomBytes call costs about
 * as much as the AES itself. Each IV is used once; the view is read before the pool refills.
 */
function freshIv(): Buffer {
  if (ivOffset + BLOCK > ivPool.length) {
    ivPool = randomFillSync(Buffer.allocUnsafe(BLOCK * 256))
    ivOffset = 0
  }
  ivOffset += BLOCK
  return ivPool.subarray(ivOffset - BLOCK, ivOffset)
}

function currentTime(): number {
  return Math.floor(Date.now() / 1000)
}

function parseToken(token: string | Uint8Array): ParsedToken {
  if (typeof token !== 'string' && !(token instanceof Uint8Array)) {
    throw new TypeError('token must be bytes or str')
  }
  const data = urlsafeB64Decode(token)
  if (data === undefined || data.length < 9 || data[0] !== VERSION) {
    throw new InvalidToken('format')
  }
  // Beyond 2^53 seconds the value rounds, which changes no time-window decision.
  return { data, timestamp: Number(data.readBigUInt64BE(1)) }
}

const PAD = 0x3d
// 6-bit value of each byte, either alphabet ('-' as '+', '_' as '/'); 255 for any other byte.
const BASE64_VALUES = new Uint8Array(256).fill(255)
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  .split('')
  .forEach((char, value) => (BASE64_VALUES[char.charCodeAt(0)] = value))
BASE64_VALUES[0x2d] = 62
BASE64_VALUES[0x5f] = 63

/**
 * Python 3.11's `base64.urlsafe_b64decode` (`binascii.a2b_base64`, not strict); undefined where
 * Python raises (`binascii.Error`, or non-ASCII text). Canonical text (what both sides write)
 * takes Node's decoder; anything else runs CPython's loop. Exported for its tests.
 */
export function urlsafeB64Decode(input: string | Uint8Array): Buffer | undefined {
  const text = asciiBytes(input)
  if (text === undefined) return undefined
  if (isCanonicalBase64(text)) {
    return Buffer.from(
      Buffer.from(text.buffer, text.byteOffset, text.length).toString('latin1'),
      'base64',
    )
  }
  const out = Buffer.allocUnsafe(Math.ceil(text.length / 4) * 3)
  let length = 0
  let quadPos = 0
  let left = 0
  let pads = 0
  for (const byte of text) {
    if (byte === PAD) {
      // A pad completing a quad ends the data; any other pad is skipped.
      if (quadPos >= 2 && quadPos + ++pads >= 4) return out.subarray(0, length)
      continue
    }
    const value = BASE64_VALUES[byte]!
    if (value === 255) continue
    pads = 0
    if (quadPos === 0) left = value
    else if (quadPos === 1) out[length++] = (left << 2) | (value >> 4)
    else if (quadPos === 2) out[length++] = ((left & 0x0f) << 4) | (value >> 2)
    else out[length++] = ((left & 0x03) << 6) | value
    left = value
    quadPos = (quadPos + 1) & 3
  }
  return quadPos === 0 ? out.subarray(0, length) : undefined
}

/** Text as its bytes; undefined for non-ASCII text, which Python refuses (bytes are kept). */
function asciiBytes(text: string | Uint8Array): Uint8Array | undefined {
  if (typeof text !== 'string') return text
  return NON_ASCII.test(text) ? undefined : Buffer.from(text, 'latin1')
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/

/** Whole quads of alphabet bytes, with at most two `=` at the very end. */
function isCanonicalBase64(text: Uint8Array): boolean {
  const length = text.length
  if (length % 4 !== 0) return false
  let end = length
  if (end > 0 && text[end - 1] === PAD) end--
  if (end > 0 && text[end - 1] === PAD) end--
  for (let i = 0; i < end; i++) if (BASE64_VALUES[text[i]!] === 255) return false
  return true
}

function encodeBase64UrlPadded(bytes: Buffer): Buffer {
  const text = bytes.toString('base64url')
  const padding = (4 - (text.length % 4)) % 4
  return Buffer.from(text + '='.repeat(padding), 'latin1')
}
