// The Redis layers' bytes: msgpack as Python packs it (every type, every refusal by key path),
// the core layer's frame (random prefix, Fernet), and interop both ways with Python's msgpack and
// channels_redis's own serialize/deserialize (one Python run for the file).
import { DecodeError } from '@msgpack/msgpack'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  CoreSerializer,
  MAX_DEPTH,
  MessageDecodeError,
  RANDOM_PREFIX_LENGTH,
  formatPath,
  packMessage,
  pubSubSerializer,
  unpackMessage,
} from '../../../../src/framework/layers/redis/codec.js'
import { InvalidToken, channelsRedisFernet } from '../../../../src/framework/layers/redis/fernet.js'
import type { ChannelMessage } from '../../../../src/framework/asgi/types.js'
import { floatTag, python, tag, type Result, type Task } from '../../../fixtures/redis/interop.js'

/** The JavaScript twin of interop.py's "mixed" sample, as it decodes here. */
const MIXED: ChannelMessage = {
  type: 'chat.message',
  text: 'héllo wörld ✓ 𝄞',
  empty: '',
  long: 'x'.repeat(300),
  bytes: Buffer.from([0x00, 0xff, 0x62, 0x69, 0x6e, 0x80]),
  small: 7,
  negative: -33,
  int16: -1000,
  big: 2 ** 40,
  neg_big: -(2 ** 40),
  max_safe: 2 ** 53 - 1,
  beyond_safe: 2n ** 53n + 1n,
  int64_max: 2n ** 63n - 1n,
  int64_min: -(2n ** 63n),
  uint64_max: 2n ** 64n - 1n,
  float: 1.5,
  integral_float: 2,
  tiny: 1e-300,
  none: null,
  yes: true,
  no: false,
  list: [1, 'two', [3.25, null], { four: Buffer.from('4') }],
  tuple: [1, 2],
  nested: { a: { b: { c: ['deep'] } } },
}

/** Every integer format boundary, as numbers. */
const INT_BOUNDARIES = [
  0,
  1,
  127,
  128,
  255,
  256,
  65535,
  65536,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  -1,
  -32,
  -33,
  -128,
  -129,
  -32768,
  -32769,
  -(2 ** 31),
  -(2 ** 31) - 1,
  -(2 ** 53 - 1),
]
const INTS: ChannelMessage = {
  type: 'ints',
  ...Object.fromEntries(INT_BOUNDARIES.map((n, i) => [`n${i}`, n])),
}
/** The same boundaries as bigints, and wider ones, next to wide numbers (the bigint encoder). */
const BIGINTS: ChannelMessage = {
  type: 'bigints',
  ...Object.fromEntries(INT_BOUNDARIES.map((n, i) => [`b${i}`, BigInt(n)])),
  number_wide: 2 ** 40,
  number_negative_wide: -(2 ** 40),
  number_small: 5,
  float: 0.5,
  max: 2n ** 64n - 1n,
  min: -(2n ** 63n),
  list: [2n ** 63n, -(2n ** 40n), 3],
}
/** Every str, bin, array and map length boundary. */
const SIZES: ChannelMessage = {
  type: 'sizes',
  s31: 'a'.repeat(31),
  s32: 'a'.repeat(32),
  s255: 'a'.repeat(255),
  s256: 'a'.repeat(256),
  s65535: 'é'.repeat(32767) + 'a',
  s65536: 'a'.repeat(65536),
  b0: Buffer.alloc(0),
  b255: Buffer.alloc(255, 1),
  b256: Buffer.alloc(256, 2),
  b65536: new Uint8Array(65536).fill(3),
  a15: Array.from({ length: 15 }, (_, i) => i),
  a16: Array.from({ length: 16 }, (_, i) => i),
  a65536: new Array<number>(65536).fill(0),
  m15: Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])),
  m16: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
}
const FLOATS: ChannelMessage = {
  type: 'floats',
  half: 1.5,
  negative: -0.25,
  nan: NaN,
  inf: Infinity,
  ninf: -Infinity,
  unsafe_integer: 2 ** 60,
  huge: 1e300,
  smallest: 5e-324,
  negative_zero: -0,
}

function nested(levels: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < levels; i++) value = [value]
  return value
}

function encodeError(message: unknown): string {
  try {
    packMessage(message as ChannelMessage)
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return (error as Error).message
  }
  throw new Error('expected a TypeError')
}

function decodeError(bytes: Uint8Array): string {
  try {
    unpackMessage(bytes)
  } catch (error) {
    expect(error).toBeInstanceOf(MessageDecodeError)
    return (error as Error).message
  }
  throw new Error('expected a MessageDecodeError')
}

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex')

describe('packMessage', () => {
  it('writes Python msgpack bytes for a small message', () => {
    const bytes = packMessage({ type: 'a', n: 1, s: 'é', b: Buffer.from([9]), z: null, t: true })
    expect(bytes.toString('hex')).toBe(
      '86 a474797065 a161 a16e 01 a173 a2c3a9 a162 c40109 a17a c0 a174 c3'.replace(/ /g, ''),
    )
    expect(Buffer.isBuffer(bytes)).toBe(true)
  })

  it('leaves out keys whose value is undefined, and writes undefined array items as nil', () => {
    const bytes = packMessage({ type: 'a', gone: undefined, list: [undefined, 1] })
    expect(unpackMessage(bytes)).toEqual({ type: 'a', list: [null, 1] })
    // A hole in a sparse array is undefined too.
    const sparse: unknown[] = []
    sparse[2] = 'x'
    expect(unpackMessage(packMessage({ type: 'a', sparse }))).toEqual({
      type: 'a',
      sparse: [null, null, 'x'],
    })
  })

  it('writes integers in the smallest format, beyond 53 bits as floats, -0 as 0', () => {
    expect(
      packMessage({ type: '', n: 2 ** 40 })
        .subarray(-9)
        .toString('hex'),
    ).toBe('cf0000010000000000')
    expect(
      packMessage({ type: '', n: -(2 ** 40) })
        .subarray(-9)
        .toString('hex'),
    ).toBe('d3ffffff0000000000')
    expect(packMessage({ type: '', n: 2 ** 60 }).subarray(-9)[0]).toBe(0xcb)
    expect(packMessage({ type: '', n: -0 }).subarray(-1)[0]).toBe(0)
  })

  it('writes a bigint as an int in the format Python gives the same value', () => {
    for (const [big, small] of [
      [5n, 5],
      [-5n, -5],
      [2n ** 40n, 2 ** 40],
      [-(2n ** 40n), -(2 ** 40)],
      [300n, 300],
    ] as const) {
      expect(packMessage({ type: '', n: big })).toEqual(packMessage({ type: '', n: small }))
    }
    expect(
      packMessage({ type: '', n: 2n ** 64n - 1n })
        .subarray(-9)
        .toString('hex'),
    ).toBe('cfffffffffffffffff')
    expect(
      packMessage({ type: '', n: -(2n ** 63n) })
        .subarray(-9)
        .toString('hex'),
    ).toBe('d38000000000000000')
  })

  it('writes Uint8Arrays, Buffers and views of larger buffers as bin, only their bytes', () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5])
    const view = backing.subarray(1, 3)
    expect(packMessage({ type: '', b: view })).toEqual(
      packMessage({ type: '', b: Buffer.from([2, 3]) }),
    )
  })

  it('writes a null-prototype object as a map, and repeats a shared (non-cyclic) value', () => {
    const inner = Object.assign(Object.create(null) as Record<string, unknown>, { x: 1 })
    const message = { type: 'a', one: inner, two: inner, list: [inner, inner] }
    expect(unpackMessage(packMessage(message))).toEqual({
      type: 'a',
      one: { x: 1 },
      two: { x: 1 },
      list: [{ x: 1 }, { x: 1 }],
    })
  })

  it('ignores symbol keys and non-enumerable properties, as JSON does', () => {
    const message: Record<string | symbol, unknown> = { type: 'a' }
    message[Symbol('s')] = 1
    Object.defineProperty(message, 'hidden', { value: 2, enumerable: false })
    expect(unpackMessage(packMessage(message as ChannelMessage))).toEqual({ type: 'a' })
  })

  it.each([
    ['a function', { type: 'a', handler: () => 1 }, 'handler', 'a function'],
    [
      'a symbol',
      { type: 'a', payload: { items: [1, 2, Symbol('x')] } },
      'payload.items[2]',
      'a symbol',
    ],
    [
      'a bigint above uint64',
      { type: 'a', n: 2n ** 64n },
      'n',
      'a bigint outside the 64-bit integer range',
    ],
    [
      'a bigint below int64',
      { type: 'a', n: [-(2n ** 63n) - 1n] },
      'n[0]',
      'a bigint outside the 64-bit integer range',
    ],
    ['a Map', { type: 'a', m: new Map() }, 'm', 'a Map (not a plain object, array or Uint8Array)'],
    ['a Set', { type: 'a', s: new Set() }, 's', 'a Set (not a plain object, array or Uint8Array)'],
    [
      'a Date',
      { type: 'a', when: new Date(0) },
      'when',
      'a Date (not a plain object, array or Uint8Array)',
    ],
    [
      'a class instance',
      { type: 'a', x: new (class Point {})() },
      'x',
      'a Point (not a plain object, array or Uint8Array)',
    ],
    [
      'an Int16Array',
      { type: 'a', x: new Int16Array(2) },
      'x',
      'an Int16Array (not a plain object, array or Uint8Array)',
    ],
    [
      'a Uint8ClampedArray',
      { type: 'a', x: new Uint8ClampedArray(2) },
      'x',
      'a Uint8ClampedArray (not a plain object, array or Uint8Array)',
    ],
    [
      'an ArrayBuffer',
      { type: 'a', x: new ArrayBuffer(2) },
      'x',
      'an ArrayBuffer (not a plain object, array or Uint8Array)',
    ],
    [
      'a boxed string',
      { type: 'a', x: Object('s') as unknown },
      'x',
      'a String (not a plain object, array or Uint8Array)',
    ],
    [
      'a lone surrogate',
      { type: 'a', 'content-type': 'x\ud800' },
      '["content-type"]',
      'a string with a lone surrogate (not UTF-8)',
    ],
    [
      'a key with a lone surrogate',
      { type: 'a', h: { '\udc00': 1 } },
      'h["\\udc00"]',
      'a key with a lone surrogate (not UTF-8)',
    ],
    [
      'a __proto__ key',
      { type: 'a', p: JSON.parse('{"__proto__": 1}') as unknown },
      'p.__proto__',
      'a "__proto__" key, which msgpack readers refuse',
    ],
  ])('refuses %s, naming its key', (_what, message, path, what) => {
    expect(encodeError(message)).toBe(`Cannot encode message key ${JSON.stringify(path)}: ${what}`)
  })

  it('refuses a cycle through an object or an array, naming where it closes', () => {
    const message: Record<string, unknown> = { type: 'a', child: { list: [] as unknown[] } }
    ;(message.child as { list: unknown[] }).list.push(message)
    expect(encodeError(message)).toBe(
      'Cannot encode message key "child.list[0]": a cycle (it contains itself)',
    )
    const list: unknown[] = []
    list.push(list)
    expect(encodeError({ type: 'a', list })).toBe(
      'Cannot encode message key "list[0]": a cycle (it contains itself)',
    )
  })

  it(`accepts values ${MAX_DEPTH} levels deep and refuses one more, as Python's packer`, () => {
    // The message is level 1, "v" level 2: 510 arrays put the leaf at level 512.
    expect(unpackMessage(packMessage({ type: 'a', v: nested(MAX_DEPTH - 2) }))).toEqual({
      type: 'a',
      v: nested(MAX_DEPTH - 2),
    })
    const message = encodeError({ type: 'a', v: nested(MAX_DEPTH - 1) })
    expect(message).toBe(
      `Cannot encode message key "v${'[0]'.repeat(MAX_DEPTH - 1)}": ` +
        `nested deeper than ${MAX_DEPTH} levels (Python's limit)`,
    )
  })

  it.each([
    ['an array', [], 'an array'],
    ['null', null, 'null'],
    ['a string', 'x', 'a string'],
    ['a Map', new Map(), 'a Map'],
  ])('refuses %s as the message itself', (_what, message, described) => {
    expect(encodeError(message)).toBe(
      `Cannot encode message: expected an object (a dict in Channels), got ${described}`,
    )
  })

  it('still encodes after a refusal', () => {
    encodeError({ type: 'a', f: () => 1 })
    expect(unpackMessage(packMessage({ type: 'ok' }))).toEqual({ type: 'ok' })
  })
})

describe('formatPath', () => {
  it('writes identifiers with dots, indexes and other keys in brackets', () => {
    expect(formatPath(['payload', 'items', 2])).toBe('payload.items[2]')
    expect(formatPath(['a b', 0, 'c'])).toBe('["a b"][0].c')
    expect(formatPath(['0', '$x', '_y'])).toBe('["0"].$x._y')
    expect(formatPath([])).toBe('')
  })
})

describe('unpackMessage', () => {
  it('reads ints as numbers while safe and as bigints beyond', () => {
    expect(unpackMessage(packMessage(INTS))).toEqual(INTS)
    // uint64/int64 formats holding small values (Python never writes these, others may).
    expect(unpackMessage(hex('81 a161 cf0000000000000005'))).toEqual({ a: 5 })
    expect(unpackMessage(hex('81 a161 d3fffffffffffffffb'))).toEqual({ a: -5 })
    expect(unpackMessage(hex('81 a161 cf0020000000000000'))).toEqual({ a: 2n ** 53n })
    expect(unpackMessage(hex('81 a161 d3ffe0000000000000'))).toEqual({ a: -(2n ** 53n) })
    expect(unpackMessage(hex('81 a161 cf001fffffffffffff'))).toEqual({ a: 2 ** 53 - 1 })
    expect(unpackMessage(hex('81 a161 d30000010000000000'))).toEqual({ a: 2 ** 40 })
    expect(unpackMessage(hex('81 a161 d30020000000000000'))).toEqual({ a: 2n ** 53n })
    expect(unpackMessage(hex('81 a161 d3ffe0000000000001'))).toEqual({ a: -(2 ** 53 - 1) })
    expect(unpackMessage(hex('81 a161 d3fff0000000000000'))).toEqual({ a: -(2 ** 52) })
    expect(unpackMessage(hex('81 a161 d3ff00000000000000'))).toEqual({ a: -(2n ** 56n) })
    expect(unpackMessage(hex('81 a161 d30100000000000000'))).toEqual({ a: 2n ** 56n })
    expect(unpackMessage(hex('81 a161 cf0100000000000000'))).toEqual({ a: 2n ** 56n })
  })

  it('reads nested wide ints in arrays and maps', () => {
    expect(unpackMessage(packMessage(BIGINTS))).toEqual({
      ...BIGINTS,
      ...Object.fromEntries(INT_BOUNDARIES.map((n, i) => [`b${i}`, n])),
      list: [2n ** 63n, -(2 ** 40), 3],
    })
  })

  it('is not misled by 0xcf/0xd3 bytes inside strings and bins', () => {
    const message = { type: 'Ϗӓ', b: Buffer.from([0xcf, 0xd3]), n: 2 ** 40 }
    expect(unpackMessage(packMessage(message))).toEqual(message)
  })

  it('reads bin as Buffer, also from a plain Uint8Array view of a larger buffer', () => {
    const frame = packMessage({ type: 'a', b: Buffer.from('xyz') })
    const backing = new Uint8Array(frame.length + 4)
    backing.set(frame, 2)
    const decoded = unpackMessage(backing.subarray(2, 2 + frame.length))
    expect(Buffer.isBuffer(decoded.b)).toBe(true)
    expect(decoded.b).toEqual(Buffer.from('xyz'))
  })

  it('reads float32, float64 and the special floats', () => {
    expect(unpackMessage(hex('81 a166 ca3fc00000'))).toEqual({ f: 1.5 })
    expect(unpackMessage(packMessage(FLOATS))).toEqual({ ...FLOATS, negative_zero: 0 })
  })

  it.each([
    ['empty input', '', 'Cannot decode message: bad msgpack (it ends inside a value)'],
    [
      'a truncated map',
      '82 a174 a161',
      'Cannot decode message: bad msgpack (it ends inside a value)',
    ],
    [
      'trailing bytes',
      '81 a174 a161 00',
      'Cannot decode message: bad msgpack (Extra 1 of 6 byte(s) found at buffer[5])',
    ],
    [
      'the never-used byte 0xc1',
      '81 a174 c1',
      'Cannot decode message: bad msgpack (Unrecognized type byte: 0xc1)',
    ],
    [
      'an int map key',
      '81 01 a161',
      'Cannot decode message: bad msgpack (a map key must be a string, got a number)',
    ],
    [
      'a bin map key',
      '81 c40161 a161',
      'Cannot decode message: bad msgpack (a map key must be a string, got bytes)',
    ],
    [
      'an extension type',
      '81 a174 d40501',
      'Cannot decode message: bad msgpack (msgpack extension type 5 is not supported)',
    ],
    [
      'a timestamp extension',
      '81 a174 d6ff00000000',
      'Cannot decode message: bad msgpack (msgpack extension type -1 is not supported)',
    ],
    [
      'a __proto__ key',
      '81 a95f5f70726f746f5f5f 01',
      'Cannot decode message: bad msgpack (The key __proto__ is not allowed)',
    ],
    [
      'an array at the top',
      '91 01',
      'Cannot decode message: expected a msgpack map at the top level, got an array',
    ],
    [
      'a str at the top',
      'a161',
      'Cannot decode message: expected a msgpack map at the top level, got a str',
    ],
    [
      'bytes at the top',
      'c40161',
      'Cannot decode message: expected a msgpack map at the top level, got bytes',
    ],
    [
      'an int at the top',
      'cf0020000000000000',
      'Cannot decode message: expected a msgpack map at the top level, got a number',
    ],
    [
      'nil at the top',
      'c0',
      'Cannot decode message: expected a msgpack map at the top level, got null',
    ],
  ])('refuses %s', (_what, bytes, message) => {
    expect(decodeError(hex(bytes))).toBe(message)
  })

  it('keeps the library error as the cause', () => {
    expect.assertions(2)
    try {
      unpackMessage(hex('c1'))
    } catch (error) {
      expect(error).toBeInstanceOf(MessageDecodeError)
      expect((error as Error).cause).toBeInstanceOf(DecodeError)
    }
  })

  it('does not require a type key (channels_redis only needs a dict)', () => {
    expect(unpackMessage(hex('80'))).toEqual({})
  })
})

describe('CoreSerializer', () => {
  const message: ChannelMessage = { type: 'chat.message', text: 'hi ✓', b: Buffer.from([1, 2]) }

  it('writes 12 random bytes then the msgpack, when no keys are set', () => {
    const serializer = new CoreSerializer({ expiry: 60 })
    expect(serializer.encrypted).toBe(false)
    const a = serializer.serialize(message)
    const b = serializer.serialize(message)
    expect(a.subarray(RANDOM_PREFIX_LENGTH)).toEqual(packMessage(message))
    expect(a.subarray(0, RANDOM_PREFIX_LENGTH).equals(b.subarray(0, RANDOM_PREFIX_LENGTH))).toBe(
      false,
    )
    expect(serializer.deserialize(a)).toEqual(message)
  })

  it('gives every frame of a long run its own prefix (across pool refills)', () => {
    const serializer = new CoreSerializer({ expiry: 60 })
    const prefixes = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      prefixes.add(serializer.serialize(message).subarray(0, 12).toString('hex'))
    }
    expect(prefixes.size).toBe(2000)
  })

  it('treats an empty key list as no encryption, as channels_redis does', () => {
    const serializer = new CoreSerializer({ symmetricEncryptionKeys: [], expiry: 60 })
    expect(serializer.encrypted).toBe(false)
    expect(serializer.serialize(message).subarray(12)).toEqual(packMessage(message))
  })

  it('encrypts with the first key and reads with any, string or bytes keys', () => {
    const serializer = new CoreSerializer({ symmetricEncryptionKeys: ['new', 'old'], expiry: 60 })
    expect(serializer.encrypted).toBe(true)
    const frame = serializer.serialize(message)
    expect(frame.subarray(12, 18).toString('latin1')).toBe('gAAAAA')
    expect(serializer.deserialize(frame)).toEqual(message)
    const old = new CoreSerializer({ symmetricEncryptionKeys: [Buffer.from('old')], expiry: 60 })
    expect(serializer.deserialize(old.serialize(message))).toEqual(message)
    const newOnly = new CoreSerializer({ symmetricEncryptionKeys: ['new'], expiry: 60 })
    expect(newOnly.deserialize(frame)).toEqual(message)
  })

  it('refuses a frame under another key with InvalidToken naming the keys', () => {
    const frame = new CoreSerializer({ symmetricEncryptionKeys: ['a'], expiry: 60 }).serialize(
      message,
    )
    const other = new CoreSerializer({ symmetricEncryptionKeys: ['b'], expiry: 60 })
    expect(() => other.deserialize(frame)).toThrow(InvalidToken)
    expect(() => other.deserialize(frame)).toThrow(
      'Cannot decrypt message: InvalidToken, no symmetric_encryption_keys entry matches the ' +
        'sender key',
    )
  })

  it('refuses an encrypted frame older than expiry + 10 s', () => {
    const serializer = new CoreSerializer({ symmetricEncryptionKeys: ['k'], expiry: 60 })
    const now = Math.floor(Date.now() / 1000)
    const frameAt = (time: number) =>
      Buffer.concat([
        Buffer.alloc(12),
        channelsRedisFernet('k').encrypt(packMessage(message), time),
      ])
    expect(serializer.deserialize(frameAt(now - 65))).toEqual(message)
    expect(() => serializer.deserialize(frameAt(now - 75))).toThrow(
      'Cannot decrypt message: InvalidToken, the message is older than expiry + 10 s',
    )
    expect(() => serializer.deserialize(frameAt(now + 120))).toThrow(
      'Cannot decrypt message: InvalidToken, the message is timestamped more than 60 s ahead ' +
        '(clock skew)',
    )
  })

  it('says which side lacks keys when only one side encrypts', () => {
    const plain = new CoreSerializer({ expiry: 60 })
    const encrypted = new CoreSerializer({ symmetricEncryptionKeys: ['k'], expiry: 60 })
    expect(() => plain.deserialize(encrypted.serialize(message))).toThrow(
      new MessageDecodeError(
        'Cannot decode message: it is Fernet-encrypted, and this layer has no ' +
          'symmetric_encryption_keys',
      ),
    )
    const error = (() => {
      try {
        encrypted.deserialize(plain.serialize(message))
      } catch (caught) {
        return caught as InvalidToken
      }
    })()
    expect(error).toBeInstanceOf(InvalidToken)
    expect(error?.reason).toBe('format')
    expect(error?.message).toBe(
      'Cannot decrypt message: InvalidToken, not a Fernet token (does the sender have ' +
        'symmetric_encryption_keys?)',
    )
  })

  it('refuses a frame shorter than the prefix, and bad msgpack after it', () => {
    const serializer = new CoreSerializer({ expiry: 60 })
    expect(() => serializer.deserialize(Buffer.alloc(5))).toThrow(
      new MessageDecodeError(
        'Cannot decode message: a 5-byte frame is shorter than the 12-byte random prefix',
      ),
    )
    expect(() => serializer.deserialize(Buffer.alloc(12))).toThrow(
      new MessageDecodeError('Cannot decode message: bad msgpack (it ends inside a value)'),
    )
    expect(() => serializer.deserialize(Buffer.concat([Buffer.alloc(12), hex('91 01')]))).toThrow(
      MessageDecodeError,
    )
  })

  it('refuses decrypted bytes that are not msgpack', () => {
    const serializer = new CoreSerializer({ symmetricEncryptionKeys: ['k'], expiry: 60 })
    const frame = Buffer.concat([Buffer.alloc(12), channelsRedisFernet('k').encrypt(hex('c1'))])
    expect(() => serializer.deserialize(frame)).toThrow(
      new MessageDecodeError('Cannot decode message: bad msgpack (Unrecognized type byte: 0xc1)'),
    )
  })

  it('refuses keys given as one string instead of a list', () => {
    expect(
      () =>
        new CoreSerializer({
          symmetricEncryptionKeys: 'secret' as unknown as string[],
          expiry: 60,
        }),
    ).toThrow(new TypeError('symmetric_encryption_keys must be a list of keys, got a string'))
  })

  it('refuses to serialize what packMessage refuses, naming the key', () => {
    const serializer = new CoreSerializer({ symmetricEncryptionKeys: ['k'], expiry: 60 })
    expect(() => serializer.serialize({ type: 'a', f: () => 1 })).toThrow(
      new TypeError('Cannot encode message key "f": a function'),
    )
  })
})

describe('pubSubSerializer', () => {
  it('is plain msgpack: no prefix, no encryption', () => {
    const bytes = pubSubSerializer.serialize(MIXED)
    expect(bytes).toEqual(packMessage(MIXED))
    expect(pubSubSerializer.deserialize(bytes)).toEqual(MIXED)
  })
})

describe('interop with Python msgpack and channels_redis', () => {
  const ours = { MIXED, INTS, BIGINTS, SIZES, FLOATS }
  const packed = Object.fromEntries(
    Object.entries(ours).map(([name, message]) => [name, packMessage(message)]),
  )
  const KEY = 'interop key ✓'
  const now = Math.floor(Date.now() / 1000)
  const encrypted = new CoreSerializer({ symmetricEncryptionKeys: [KEY], expiry: 60 })
  const plain = new CoreSerializer({ expiry: 60 })
  const coreFrames = {
    encrypted: encrypted.serialize(MIXED).toString('hex'),
    plain: plain.serialize(MIXED).toString('hex'),
  }

  const tasks: Task[] = [
    ...Object.entries(packed).map(([name, bytes]) => ({
      kind: 'unpack',
      hex: bytes.toString('hex'),
      tag: name !== 'SIZES',
    })),
    { kind: 'pack', sample: 'mixed' },
    { kind: 'pack', sample: 'special_floats' },
    { kind: 'pubsub_serialize', sample: 'mixed' },
    { kind: 'pubsub_deserialize', hex: pubSubSerializer.serialize(MIXED).toString('hex') },
    { kind: 'core_deserialize', keys: [KEY], hex: coreFrames.encrypted },
    { kind: 'core_deserialize', keys: ['newer', KEY], hex: coreFrames.encrypted },
    { kind: 'core_deserialize', keys: ['other'], hex: coreFrames.encrypted },
    { kind: 'core_deserialize', hex: coreFrames.plain },
    { kind: 'core_deserialize', hex: coreFrames.encrypted },
    { kind: 'core_serialize', keys: [KEY], sample: 'mixed' },
    { kind: 'core_serialize', sample: 'mixed' },
    { kind: 'core_serialize', keys: [KEY], sample: 'mixed', at: now - 1000 },
    { kind: 'unpack', hex: packMessage({ type: 'a', v: nested(MAX_DEPTH - 2) }).toString('hex') },
    { kind: 'nest', levels: MAX_DEPTH - 2 },
    { kind: 'nest', levels: MAX_DEPTH - 1 },
  ]
  const UNPACKED = Object.keys(packed).length
  let results: Result[] = []
  beforeAll(async () => {
    results = await python(tasks)
  })
  const result = (i: number) => results[i]!
  const bytesOf = (i: number) => Buffer.from(result(i).hex as string, 'hex')

  it('Python reads our messages as the same values, and packs them back to the same bytes', () => {
    Object.entries(packed).forEach(([name, bytes], i) => {
      const { value, repack } = result(i)
      if (name !== 'SIZES') expect(value, name).toEqual(tag(ours[name as keyof typeof ours]))
      expect(repack, name).toBe(bytes.toString('hex'))
    })
  })

  it('Python sees JavaScript integers as int, other numbers as float', () => {
    const floats = result(Object.keys(packed).indexOf('FLOATS')).value as {
      dict: [unknown, unknown][]
    }
    const byKey = new Map(floats.dict.map(([key, value]) => [(key as { str: string }).str, value]))
    expect(byKey.get('half')).toEqual(floatTag(1.5))
    expect(byKey.get('unsafe_integer')).toEqual(floatTag(2 ** 60))
    expect(byKey.get('nan')).toEqual(floatTag(NaN))
    expect(byKey.get('negative_zero')).toEqual({ int: '0' })
  })

  it('we read what Python packs', () => {
    expect(unpackMessage(bytesOf(UNPACKED))).toEqual(MIXED)
    const special = unpackMessage(bytesOf(UNPACKED + 1))
    expect(special).toEqual({
      type: 'floats',
      nan: NaN,
      inf: Infinity,
      ninf: -Infinity,
      negzero: -0,
    })
    expect(Object.is(special.negzero, -0)).toBe(true)
  })

  it('pub/sub: the layers read each other (plain msgpack both ways)', () => {
    expect(pubSubSerializer.deserialize(bytesOf(UNPACKED + 2))).toEqual(MIXED)
    // channels_redis pub/sub's packb(message) writes exactly packb(message, use_bin_type=True).
    expect(bytesOf(UNPACKED + 2)).toEqual(bytesOf(UNPACKED))
    expect(result(UNPACKED + 3).value).toEqual(tag(MIXED))
  })

  it('core: channels_redis reads our frames, encrypted (also after key rotation) or not', () => {
    expect(result(UNPACKED + 4).value).toEqual(tag(MIXED))
    expect(result(UNPACKED + 5).value).toEqual(tag(MIXED))
    expect(result(UNPACKED + 6).error).toBe('InvalidToken')
    expect(result(UNPACKED + 7).value).toEqual(tag(MIXED))
    // Without keys, channels_redis fails on the token's bytes (as we do, more clearly).
    expect(result(UNPACKED + 8).error).toBeDefined()
  })

  it("core: we deserialize channels_redis's frames; wrong key and expired ones are refused", () => {
    const frame = bytesOf(UNPACKED + 9)
    expect(encrypted.deserialize(frame)).toEqual(MIXED)
    const rotated = new CoreSerializer({ symmetricEncryptionKeys: ['newer', KEY], expiry: 60 })
    expect(rotated.deserialize(frame)).toEqual(MIXED)
    const wrong = new CoreSerializer({ symmetricEncryptionKeys: ['other'], expiry: 60 })
    expect(() => wrong.deserialize(frame)).toThrow(InvalidToken)
    expect(plain.deserialize(bytesOf(UNPACKED + 10))).toEqual(MIXED)
    expect(() => encrypted.deserialize(bytesOf(UNPACKED + 11))).toThrow(
      'Cannot decrypt message: InvalidToken, the message is older than expiry + 10 s',
    )
  })

  it(`Python reads a message nested ${MAX_DEPTH} levels deep, and packs no deeper, as we`, () => {
    const ok = packMessage({ type: 'a', v: nested(MAX_DEPTH - 2) }).toString('hex')
    expect(result(UNPACKED + 12).repack).toBe(ok)
    expect(result(UNPACKED + 13)).toEqual({ hex: ok })
    expect(result(UNPACKED + 14)).toEqual({
      error: 'ValueError',
      message: 'recursion limit exceeded.',
    })
  })
})
