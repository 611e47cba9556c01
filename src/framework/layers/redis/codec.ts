/**
 * The bytes channels_redis puts on Redis, byte for byte: msgpack as Python's
 * `msgpack.packb(message, use_bin_type=True)` writes it and `msgpack.unpackb(raw=False)` reads it,
 * and the core layer's frame around it (12 random bytes, then the msgpack, Fernet-encrypted when
 * `symmetric_encryption_keys` are set).
 *
 * What a message may hold, and how it travels:
 * - string → str; Uint8Array (Buffer included) → bin; null → nil; boolean → bool.
 * - number: a safe integer → the smallest int format (as Python picks it); anything else,
 *   including NaN, ±Infinity and integers beyond 2^53, → float64 (Python packs its floats the
 *   same way). A JavaScript integer therefore arrives in Python as `int`, never as `float`.
 * - bigint: an int (int64/uint64 range, as Python packs an `int`); outside it, refused.
 * - array → array (a hole or `undefined` item → nil, as JSON writes null); a plain or
 *   null-prototype object → map with its own enumerable string keys, in their JavaScript order.
 *   An `undefined` value leaves its key out (as JSON does); symbol keys are ignored (as JSON).
 * - Refused with a TypeError naming the key path (`Cannot encode message key
 *   "payload.items[2]": a function`): functions, symbols, cycles, Maps, Sets, Dates, class
 *   instances, typed arrays other than Uint8Array, ArrayBuffers, strings with a lone surrogate
 *   (not UTF-8; Python refuses them too), a `__proto__` key (msgpack readers here refuse it),
 *   and values nested deeper than Python's packer allows (level 513 and below).
 *
 * Reading: str → string, bin → Buffer (a view into the frame, not a copy), int → number, or
 * bigint when beyond ±(2^53 - 1), float → number, nil → null, map → plain object. A map key must
 * be a string (Python's `strict_map_key` also allows bytes keys; no Channels message uses them),
 * extension types are refused (Python never writes one from a message), and the top level must be
 * a map; its `type` is not checked here (channels_redis only needs a dict). Invalid UTF-8 in a
 * str is not detected: neither side writes it.
 * @module
 */
import { randomFillSync } from 'node:crypto'
import { Decoder, DecodeError, Encoder, type ExtensionCodecType } from '@msgpack/msgpack'
import type { ChannelMessage } from '../../asgi/types.js'
import { ChannelsError } from '../../asgi/errors.js'
import { describeValue } from '../../../util/describe.js'
import { InvalidToken, MultiFernet, channelsRedisFernet } from './fernet.js'

/**
 * Python msgpack's packer limit: a value may sit at most 512 levels deep, the message's own map
 * being level 1 (so 511 nested containers around a leaf).
 */
export const MAX_DEPTH = 512

/** channels_redis core's random prefix: keeps equal messages distinct in a sorted set. */
export const RANDOM_PREFIX_LENGTH = 12

/** A frame that cannot be read as a message: bad msgpack, or not a map at the top level. */
export class MessageDecodeError extends ChannelsError {}

// No extension types either way: the encoder's walk refuses Dates before the library's
// timestamp extension could write one, and a frame with an extension is refused.
const noExtensions: ExtensionCodecType<undefined> = {
  tryToEncode: () => null,
  decode: (_data, extensionType) => {
    throw new DecodeError(`msgpack extension type ${extensionType} is not supported`)
  },
}

function stringKeysOnly(key: unknown): string {
  if (typeof key === 'string') return key
  const kind = key instanceof Uint8Array ? 'bytes' : describeValue(key)
  throw new DecodeError(`a map key must be a string, got ${kind}`)
}

const encoder = new Encoder({
  extensionCodec: noExtensions,
  ignoreUndefined: true,
  maxDepth: MAX_DEPTH,
})
// With useBigInt64 the library writes every bigint as int64/uint64, but also writes safe integer
// numbers beyond 32 bits as floats: messages holding a bigint go through `widenIntegers` first.
const bigIntEncoder = new Encoder({
  extensionCodec: noExtensions,
  ignoreUndefined: true,
  useBigInt64: true,
  maxDepth: MAX_DEPTH,
})
const decoder = new Decoder({ extensionCodec: noExtensions, mapKeyConverter: stringKeysOnly })
const bigIntDecoder = new Decoder({
  extensionCodec: noExtensions,
  mapKeyConverter: stringKeysOnly,
  useBigInt64: true,
})

const INT64_MIN = -(2n ** 63n)
const UINT64_MAX = 2n ** 64n - 1n
const INT32_MIN = -(2 ** 31)
const UINT32_LIMIT = 2 ** 32

// Node 20 has String.prototype.isWellFormed; the ES2023 lib typings do not.
interface WellFormedCheck {
  isWellFormed(): boolean
}
function isWellFormed(text: string): boolean {
  return (text as unknown as WellFormedCheck).isWellFormed()
}

type PathItem = string | number

/**
 * Encode a message as Python's `msgpack.packb(message, use_bin_type=True)` does.
 * @throws TypeError naming the key path of the first value that cannot be encoded.
 */
export function packMessage(message: ChannelMessage): Buffer {
  const bytes = encodeChecked(message, false)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * Decode msgpack bytes into a message, as Python's `msgpack.unpackb(raw=False)` does.
 * @throws MessageDecodeError for bad msgpack or a top level that is not a map.
 */
export function unpackMessage(bytes: Uint8Array): ChannelMessage {
  const frame = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const wide = mayHoldWideInt(frame)
  let value: unknown
  try {
    value = wide ? bigIntDecoder.decode(frame) : decoder.decode(frame)
  } catch (error) {
    // The library reports a frame that stops short as a RangeError from its DataView.
    const truncated = error instanceof RangeError && !error.message.startsWith('Extra ')
    const reason = truncated
      ? 'it ends inside a value'
      : error instanceof Error
        ? error.message
        : String(error)
    throw new MessageDecodeError(`Cannot decode message: bad msgpack (${reason})`, {
      cause: error,
    })
  }
  if (!isPlainObject(value)) {
    throw new MessageDecodeError(
      'Cannot decode message: expected a msgpack map at the top level, got ' +
        describeDecoded(value),
    )
  }
  if (wide) narrowIntegers(value)
  return value as ChannelMessage
}

/** Options of {@link CoreSerializer}, from the core layer's CONFIG. */
export interface CoreSerializerOptions {
  /** `symmetric_encryption_keys`: the first encrypts, any decrypts; none or empty: plain. */
  symmetricEncryptionKeys?: readonly (string | Uint8Array)[]
  /** `expiry` in seconds; an encrypted frame older than `expiry + 10` s is refused. */
  expiry: number
}

/** channels_redis core's `serialize`/`deserialize`: random prefix, msgpack, optional Fernet. */
export class CoreSerializer {
  readonly #crypter: MultiFernet | undefined
  readonly #ttl: number

  constructor(options: CoreSerializerOptions) {
    const keys = options.symmetricEncryptionKeys ?? []
    if (!isList(keys)) {
      // Python would iterate a string's characters, one key each: surely not what was meant.
      throw new TypeError(
        `symmetric_encryption_keys must be a list of keys, got ${describeValue(keys)}`,
      )
    }
    this.#crypter =
      keys.length > 0 ? new MultiFernet(keys.map((key) => channelsRedisFernet(key))) : undefined
    this.#ttl = options.expiry + 10
  }

  /** True when frames are encrypted (symmetric_encryption_keys set). */
  get encrypted(): boolean {
    return this.#crypter !== undefined
  }

  /**
   * `12 random bytes ‖ msgpack` (encrypted when keys are set).
   * @throws TypeError naming the key path of a value that cannot be encoded.
   */
  serialize(message: ChannelMessage): Buffer {
    // A shared view of the encoder's buffer: copied (or encrypted) before the next encode.
    const packed = encodeChecked(message, true)
    const body = this.#crypter === undefined ? packed : this.#crypter.encrypt(packed)
    const frame = Buffer.allocUnsafe(RANDOM_PREFIX_LENGTH + body.length)
    writeRandomPrefix(frame)
    frame.set(body, RANDOM_PREFIX_LENGTH)
    return frame
  }

  /**
   * Drop the random prefix, decrypt when keys are set, decode.
   * @throws InvalidToken when decryption fails (wrong key, no key on one side, or expired).
   * @throws MessageDecodeError for a short frame, bad msgpack, or a top level that is not a map.
   */
  deserialize(frame: Uint8Array): ChannelMessage {
    if (frame.length < RANDOM_PREFIX_LENGTH) {
      throw new MessageDecodeError(
        `Cannot decode message: a ${frame.length}-byte frame is shorter than the ` +
          `${RANDOM_PREFIX_LENGTH}-byte random prefix`,
      )
    }
    const body = frame.subarray(RANDOM_PREFIX_LENGTH)
    if (this.#crypter === undefined) {
      if (looksLikeFernetToken(body)) {
        throw new MessageDecodeError(
          'Cannot decode message: it is Fernet-encrypted, and this layer has no ' +
            'symmetric_encryption_keys',
        )
      }
      return unpackMessage(body)
    }
    let plain: Buffer
    try {
      plain = this.#crypter.decrypt(body, this.#ttl)
    } catch (error) {
      if (!(error instanceof InvalidToken)) throw error
      throw new InvalidToken(error.reason, `Cannot decrypt message: ${decryptHint(error)}`)
    }
    return unpackMessage(plain)
  }
}

/** channels_redis pub/sub's `serialize`/`deserialize`: plain msgpack, no prefix, no encryption. */
export const pubSubSerializer = {
  serialize: packMessage,
  deserialize: unpackMessage,
} as const

/** Array.isArray without narrowing (which would widen a typed list to any[]). */
function isList(value: unknown): boolean {
  return Array.isArray(value)
}

function decryptHint(error: InvalidToken): string {
  switch (error.reason) {
    case 'signature':
      return 'InvalidToken, no symmetric_encryption_keys entry matches the sender key'
    case 'expired':
      return 'InvalidToken, the message is older than expiry + 10 s'
    case 'future':
      return 'InvalidToken, the message is timestamped more than 60 s ahead (clock skew)'
    case 'format':
      return 'InvalidToken, not a Fernet token (does the sender have symmetric_encryption_keys?)'
  }
}

// Every Fernet token starts with version byte 0x80 and a timestamp below 2^32, whose url-safe
// base64 begins "gAAAAA".
const FERNET_START = Buffer.from('gAAAAA', 'latin1')

function looksLikeFernetToken(body: Uint8Array): boolean {
  // A msgpack body starting with this byte (fixint 103) and longer than it is invalid anyway.
  return (
    body.length >= FERNET_START.length &&
    Buffer.from(body.buffer, body.byteOffset, FERNET_START.length).equals(FERNET_START)
  )
}

// ---- encoding ------------------------------------------------------------------------------

let randomPool = Buffer.alloc(0)
let randomOffset = 0

/** The 12-byte prefix, cut from a pool refilled 512 prefixes at a time. */
function writeRandomPrefix(frame: Buffer): void {
  if (randomOffset + RANDOM_PREFIX_LENGTH > randomPool.length) {
    randomPool = randomFillSync(Buffer.allocUnsafe(RANDOM_PREFIX_LENGTH * 512))
    randomOffset = 0
  }
  randomPool.copy(frame, 0, randomOffset, randomOffset + RANDOM_PREFIX_LENGTH)
  randomOffset += RANDOM_PREFIX_LENGTH
}

/**
 * Check the message, then encode it. `shared`: return a view of the encoder's own buffer,
 * valid until the next encode (saves a copy when the caller copies anyway).
 */
function encodeChecked(message: ChannelMessage, shared: boolean): Uint8Array {
  if (!isPlainObject(message)) {
    throw new TypeError(
      'Cannot encode message: expected an object (a dict in Channels), got ' +
        describeValue(message),
    )
  }
  const hasBigInt = check(message, [], [], 1)
  if (hasBigInt) return bigIntEncoder.encode(widenIntegers(message))
  return shared ? encoder.encodeSharedRef(message) : encoder.encode(message)
}

/**
 * Walk a value as the encoder will, and throw a TypeError naming the path of the first value it
 * must not encode. `ancestors`: the containers from the top down to `value`, for cycles.
 * Returns whether a bigint was seen.
 */
function check(value: unknown, path: PathItem[], ancestors: object[], depth: number): boolean {
  if (depth > MAX_DEPTH) refuse(path, `nested deeper than ${MAX_DEPTH} levels (Python's limit)`)
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) refuse(path, 'a string with a lone surrogate (not UTF-8)')
      return false
    case 'number':
    case 'boolean':
    case 'undefined':
      return false
    case 'bigint':
      if (value < INT64_MIN || value > UINT64_MAX) {
        refuse(path, 'a bigint outside the 64-bit integer range')
      }
      return true
    case 'function':
    case 'symbol':
      return refuse(path, describeValue(value))
  }
  if (value === null) return false
  if (value instanceof Uint8Array) return false
  const container = value as object
  const array = Array.isArray(container)
  if (!array && !isPlainObject(container)) {
    return refuse(path, `${describeValue(container)} (not a plain object, array or Uint8Array)`)
  }
  if (ancestors.includes(container)) return refuse(path, 'a cycle (it contains itself)')
  ancestors.push(container)
  let hasBigInt = false
  if (array) {
    const items = container as unknown[]
    for (let i = 0; i < items.length; i++) {
      path.push(i)
      if (check(items[i], path, ancestors, depth + 1)) hasBigInt = true
      path.pop()
    }
  } else {
    const record = container
    for (const key of Object.keys(record)) {
      path.push(key)
      if (key === '__proto__') refuse(path, 'a "__proto__" key, which msgpack readers refuse')
      if (!isWellFormed(key)) refuse(path, 'a key with a lone surrogate (not UTF-8)')
      if (check(record[key], path, ancestors, depth + 1)) hasBigInt = true
      path.pop()
    }
  }
  ancestors.pop()
  return hasBigInt
}

function refuse(path: readonly PathItem[], what: string): never {
  throw new TypeError(`Cannot encode message key ${JSON.stringify(formatPath(path))}: ${what}`)
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** `payload.items[2]`; keys that are not identifiers in brackets: `headers["content-type"]`. */
export function formatPath(path: readonly PathItem[]): string {
  let text = ''
  for (const item of path) {
    if (typeof item === 'number') text += `[${item}]`
    else if (IDENTIFIER.test(item)) text += text === '' ? item : `.${item}`
    else text += `[${JSON.stringify(item)}]`
  }
  return text
}

/**
 * A copy for the bigint encoder, which writes every bigint as int64/uint64: integers that fit
 * 32 bits become numbers, wider ones bigints, so each takes the format Python gives the same int.
 */
function widenIntegers(value: unknown): unknown {
  if (typeof value === 'number') {
    const wide = Number.isSafeInteger(value) && (value < INT32_MIN || value >= UINT32_LIMIT)
    return wide ? BigInt(value) : value
  }
  if (typeof value === 'bigint') {
    return value >= INT32_MIN && value < UINT32_LIMIT ? Number(value) : value
  }
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value
  if (Array.isArray(value)) return value.map(widenIntegers)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    out[key] = widenIntegers((value as Record<string, unknown>)[key])
  }
  return out
}

// ---- decoding ------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function describeDecoded(value: unknown): string {
  if (value instanceof Uint8Array) return 'bytes'
  if (typeof value === 'string') return 'a str'
  if (typeof value === 'bigint' || typeof value === 'number') return 'a number'
  return describeValue(value)
}

/**
 * False when no int in the frame can be beyond 2^53: every 0xcf (uint64) or 0xd3 (int64) byte,
 * wherever it sits (it may be inside a str or bin), is followed by a high part that keeps the
 * value safe. The plain decoder reads those exactly, so millisecond timestamps (above 2^32, in
 * a uint64) do not need the bigint decoder and the walk after it. A false alarm costs only time.
 */
function mayHoldWideInt(frame: Buffer): boolean {
  for (let at = frame.indexOf(0xcf); at !== -1; at = frame.indexOf(0xcf, at + 1)) {
    // Safe: below 2^53, so the top 11 bits are clear.
    if (frame[at + 1] !== 0 || (frame[at + 2] ?? 0) >= 0x20) return true
  }
  for (let at = frame.indexOf(0xd3); at !== -1; at = frame.indexOf(0xd3, at + 1)) {
    const top = frame[at + 1]
    const next = frame[at + 2] ?? 0
    // Safe: 0 <= value < 2^53, or -(2^53) < value < 0 with room to spare.
    if (!((top === 0 && next < 0x20) || (top === 0xff && next > 0xe0))) return true
  }
  return false
}

/** After the bigint decoder: int64/uint64 values that fit a number become numbers. */
function narrowIntegers(container: Record<string, unknown> | unknown[]): void {
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) container[i] = narrow(container[i])
  } else {
    for (const key of Object.keys(container)) container[key] = narrow(container[key])
  }
}

function narrow(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= -Number.MAX_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER
      ? Number(value)
      : value
  }
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    narrowIntegers(value as Record<string, unknown> | unknown[])
  }
  return value
}
