// Fernet/MultiFernet on node:crypto: the token format, every refusal, and interop both ways with
// Python's `cryptography.fernet` and channels_redis's make_fernet (one Python run for the file).
import { createCipheriv, createHmac } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { ValueError } from '../../../../src/framework/asgi/errors.js'
import {
  Fernet,
  InvalidToken,
  MAX_CLOCK_SKEW,
  MultiFernet,
  channelsRedisFernet,
  urlsafeB64Decode,
} from '../../../../src/framework/layers/redis/fernet.js'
import { python, type Result, type Task } from '../../../fixtures/redis/interop.js'

const KEY_ERROR = 'Fernet key must be 32 url-safe base64-encoded bytes.'

function rawKey(seed: number): Buffer {
  return Buffer.from(Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) & 0xff))
}
/** A key as Python's Fernet.generate_key() writes one: url-safe base64 with `=` padding. */
function keyText(raw: Buffer): string {
  return raw.toString('base64').replace(/\+/g, '-').replace(/\//g, '_')
}

const K1 = keyText(rawKey(1))
const BAD_KEYS: [string, string][] = [
  ['too short', keyText(rawKey(1).subarray(0, 31))],
  ['too long', keyText(Buffer.concat([rawKey(1), Buffer.from([1])]))],
  ['without its = padding', K1.replace(/=+$/, '')],
  ['with a stray character replacing a data character', `${K1.slice(0, -2)}!=`],
  ['empty', ''],
]
// Python's decoder skips stray characters and reads either alphabet; so does ours.
const ODD_GOOD_KEYS: [string, string][] = [
  ['in the standard alphabet', '+'.repeat(43) + '='],
  ['with extra padding', `${K1}==`],
  ['with a newline inside', `${K1.slice(0, 20)}\n${K1.slice(20)}`],
  ['with a stray character inside', `${K1.slice(0, 20)}!${K1.slice(20)}`],
]
const K2 = keyText(rawKey(2))
const K3 = keyText(rawKey(3))
const T = 1_700_000_000
const PLAIN = Buffer.from('héllo ✓ \x00\xff', 'utf8')

/** Base64 corner cases: every text up to 4 characters over a small alphabet, and longer ones. */
const B64_TEXTS = ((): string[] => {
  const alphabet = ['A', 'g', '-', '_', '+', '/', '=', '!', '\n', '\x80']
  const texts: string[] = ['']
  let layer = ['']
  for (let length = 1; length <= 4; length++) {
    layer = layer.flatMap((prefix) => alphabet.map((char) => prefix + char))
    texts.push(...layer)
  }
  let seed = 12345
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
  for (let i = 0; i < 2000; i++) {
    const length = 5 + (next() % 20)
    texts.push(Array.from({ length }, () => alphabet[next() % alphabet.length]).join(''))
  }
  return texts
})()

function b64(bytes: Buffer): string {
  const text = bytes.toString('base64url')
  return text + '='.repeat((4 - (text.length % 4)) % 4)
}
function unb64(token: Buffer | string): Buffer {
  return Buffer.from(token.toString(), 'base64url')
}

/** A token signed with K1's signing key around any body, to reach the checks after the HMAC. */
function signedToken(body: Buffer): string {
  const raw = rawKey(1)
  const hmac = createHmac('sha256', raw.subarray(0, 16)).update(body).digest()
  return b64(Buffer.concat([body, hmac]))
}
function header(time: number): Buffer {
  const head = Buffer.alloc(25)
  head[0] = 0x80
  head.writeBigUInt64BE(BigInt(time), 1)
  return head
}

function reasonOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof InvalidToken) return error.reason
    throw error
  }
  throw new Error('expected InvalidToken')
}

describe('Fernet', () => {
  it('takes a url-safe base64 key as text or as its ASCII bytes', () => {
    const fromText = new Fernet(K1)
    const fromBytes = new Fernet(Buffer.from(K1, 'latin1'))
    expect(fromBytes.decrypt(fromText.encrypt(PLAIN))).toEqual(PLAIN)
  })

  it.each(BAD_KEYS)('refuses a key %s with Python message', (_what, key) => {
    expect(() => new Fernet(key)).toThrow(ValueError)
    expect(() => new Fernet(key)).toThrow(KEY_ERROR)
  })

  it.each(ODD_GOOD_KEYS)('accepts a key %s, as Python does', (_what, key) => {
    const token = new Fernet(key).encrypt(PLAIN)
    expect(new Fernet(key).decrypt(token)).toEqual(PLAIN)
  })

  it('refuses a key given as non-ASCII text', () => {
    expect(() => new Fernet(`${K1.slice(0, -1)}é`)).toThrow(KEY_ERROR)
  })

  it('writes 0x80, the timestamp, a fresh IV, whole AES blocks and an HMAC, padded with =', () => {
    const fernet = new Fernet(K1)
    for (const size of [0, 1, 15, 16, 17, 100]) {
      const token = fernet.encrypt(Buffer.alloc(size, 7), T)
      expect(token.toString('latin1')).toMatch(/^gAAAAA[A-Za-z0-9_-]*={0,2}$/)
      expect(token.length % 4).toBe(0)
      const data = unb64(token)
      expect(data[0]).toBe(0x80)
      expect(data.readBigUInt64BE(1)).toBe(BigInt(T))
      // PKCS7 always adds 1..16 bytes: a full block for a multiple of 16.
      expect(data.length).toBe(1 + 8 + 16 + (Math.floor(size / 16) + 1) * 16 + 32)
    }
    const a = unb64(fernet.encrypt(PLAIN, T))
    const b = unb64(fernet.encrypt(PLAIN, T))
    expect(a.subarray(9, 25).equals(b.subarray(9, 25))).toBe(false)
  })

  it('never repeats an IV, across refills of its random pool', () => {
    const fernet = new Fernet(K1)
    const ivs = new Set<string>()
    for (let i = 0; i < 600; i++)
      ivs.add(unb64(fernet.encrypt(PLAIN, T)).subarray(9, 25).toString('hex'))
    expect(ivs.size).toBe(600)
  })

  it('stamps the current time by default, and floors a fractional one', () => {
    const before = Math.floor(Date.now() / 1000)
    const stamped = Number(unb64(new Fernet(K1).encrypt(PLAIN)).readBigUInt64BE(1))
    expect(stamped).toBeGreaterThanOrEqual(before)
    expect(stamped).toBeLessThanOrEqual(Math.floor(Date.now() / 1000))
    expect(unb64(new Fernet(K1).encrypt(PLAIN, T + 0.9)).readBigUInt64BE(1)).toBe(BigInt(T))
  })

  it.each([-1, NaN, Infinity, 2 ** 60])('refuses to stamp %s', (now) => {
    expect(() => new Fernet(K1).encrypt(PLAIN, now)).toThrow(TypeError)
  })

  it('decrypts a token given as bytes or as text', () => {
    const fernet = new Fernet(K1)
    const token = fernet.encrypt(PLAIN, T)
    expect(fernet.decrypt(token)).toEqual(PLAIN)
    expect(fernet.decrypt(token.toString('latin1'))).toEqual(PLAIN)
    expect(fernet.decrypt(new Uint8Array(token))).toEqual(PLAIN)
  })

  it('reads a token in the standard alphabet or with stray characters, as Python does', () => {
    const fernet = new Fernet(K1)
    const token = fernet.encrypt(PLAIN, T).toString('latin1')
    const standard = token.replace(/-/g, '+').replace(/_/g, '/')
    expect(fernet.decrypt(standard)).toEqual(PLAIN)
    expect(fernet.decrypt(`${token.slice(0, 30)}\n${token.slice(30)}`)).toEqual(PLAIN)
    expect(reasonOf(() => fernet.decrypt(`${token.slice(0, 30)}é${token.slice(30)}`))).toBe(
      'format',
    )
  })

  it('refuses a token that is neither bytes nor text', () => {
    expect(() => new Fernet(K1).decrypt(42 as unknown as string)).toThrow(
      'token must be bytes or str',
    )
  })

  it('applies the ttl as Python does: older than ttl or over 60 s ahead is invalid', () => {
    const fernet = new Fernet(K1)
    const token = fernet.encrypt(PLAIN, T)
    expect(fernet.decrypt(token, 100, T + 100)).toEqual(PLAIN)
    expect(reasonOf(() => fernet.decrypt(token, 100, T + 101))).toBe('expired')
    expect(fernet.decrypt(token, 100, T - MAX_CLOCK_SKEW)).toEqual(PLAIN)
    expect(reasonOf(() => fernet.decrypt(token, 100, T - MAX_CLOCK_SKEW - 1))).toBe('future')
    // Without a ttl, time is not checked at all.
    expect(fernet.decrypt(token, undefined, T + 10 ** 9)).toEqual(PLAIN)
    // now defaults to the clock: a token from 2023 is long expired.
    expect(reasonOf(() => fernet.decrypt(token, 100))).toBe('expired')
    expect(fernet.decrypt(fernet.encrypt(PLAIN), 100)).toEqual(PLAIN)
  })

  it('refuses a token signed with another key, or altered', () => {
    const token = new Fernet(K1).encrypt(PLAIN, T)
    expect(reasonOf(() => new Fernet(K2).decrypt(token))).toBe('signature')
    const data = unb64(token)
    for (const at of [0 + 1, 9, 30, data.length - 1]) {
      const altered = Buffer.from(data)
      altered[at]! ^= 1
      expect(reasonOf(() => new Fernet(K1).decrypt(b64(altered)))).toBe('signature')
    }
    expect(() => new Fernet(K2).decrypt(token)).toThrow(
      'Invalid Fernet token: signature does not match (wrong key, or altered)',
    )
  })

  it.each([
    ['empty', ''],
    ['not base64', 'gAAAAA!!'],
    ['missing its = padding', b64(header(T)).replace(/=+$/, '')],
    ['shorter than 9 bytes', b64(Buffer.from([0x80, 0, 0]))],
    ['a wrong version byte', b64(Buffer.concat([Buffer.from([0x81]), header(T).subarray(1)]))],
  ])('refuses a token %s as not a Fernet token', (_what, token) => {
    expect(reasonOf(() => new Fernet(K1).decrypt(token))).toBe('format')
  })

  it('refuses a token too short to hold an HMAC as a signature failure (as Python)', () => {
    expect(reasonOf(() => new Fernet(K1).decrypt(b64(header(T))))).toBe('signature')
  })

  it('refuses a signed token whose ciphertext is empty, not whole blocks, or badly padded', () => {
    expect(reasonOf(() => new Fernet(K1).decrypt(signedToken(header(T))))).toBe('format')
    const partial = Buffer.concat([header(T), Buffer.alloc(20, 1)])
    expect(reasonOf(() => new Fernet(K1).decrypt(signedToken(partial)))).toBe('format')
    // One block whose last byte decrypts to 0: not PKCS7.
    const cipher = createCipheriv('aes-128-cbc', rawKey(1).subarray(16), Buffer.alloc(16))
    cipher.setAutoPadding(false)
    const block = Buffer.concat([cipher.update(Buffer.alloc(16, 0)), cipher.final()])
    const badPadding = Buffer.concat([header(T), block])
    badPadding.fill(0, 9, 25)
    expect(reasonOf(() => new Fernet(K1).decrypt(signedToken(badPadding)))).toBe('format')
  })
})

describe('MultiFernet', () => {
  it('needs at least one Fernet (Python message)', () => {
    expect(() => new MultiFernet([])).toThrow(ValueError)
    expect(() => new MultiFernet([])).toThrow('MultiFernet requires at least one Fernet instance')
  })

  it('encrypts with the first and decrypts with any', () => {
    const multi = new MultiFernet([new Fernet(K2), new Fernet(K1)])
    const token = multi.encrypt(PLAIN, T)
    expect(new Fernet(K2).decrypt(token)).toEqual(PLAIN)
    expect(reasonOf(() => new Fernet(K1).decrypt(token))).toBe('signature')
    expect(multi.decrypt(new Fernet(K1).encrypt(PLAIN))).toEqual(PLAIN)
    expect(multi.decrypt(token, 10, T + 5)).toEqual(PLAIN)
  })

  it('refuses a token no key accepts, naming the time window when one key matched', () => {
    const multi = new MultiFernet([new Fernet(K2), new Fernet(K1)])
    expect(reasonOf(() => multi.decrypt(new Fernet(K3).encrypt(PLAIN)))).toBe('signature')
    const old = new Fernet(K1).encrypt(PLAIN, T)
    expect(reasonOf(() => multi.decrypt(old, 100, T + 1000))).toBe('expired')
    expect(
      reasonOf(() => new MultiFernet([new Fernet(K1), new Fernet(K2)]).decrypt(old, 1, T + 9)),
    ).toBe('expired')
    expect(reasonOf(() => multi.decrypt('garbage'))).toBe('format')
  })
})

describe('channelsRedisFernet', () => {
  it('derives the same key from a string and from its UTF-8 bytes', () => {
    const token = channelsRedisFernet('s3cret ✓').encrypt(PLAIN)
    expect(channelsRedisFernet(Buffer.from('s3cret ✓', 'utf8')).decrypt(token)).toEqual(PLAIN)
    expect(reasonOf(() => channelsRedisFernet('s3cret').decrypt(token))).toBe('signature')
  })

  it('accepts any string, even empty (it is hashed)', () => {
    const fernet = channelsRedisFernet('')
    expect(fernet.decrypt(fernet.encrypt(PLAIN))).toEqual(PLAIN)
  })
})

describe('interop with Python cryptography.fernet and channels_redis make_fernet', () => {
  const SECRET = 'channels secret ✓'
  const BIG = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 13) & 0xff))
  const ours = {
    k1: new Fernet(K1).encrypt(PLAIN, T).toString('latin1'),
    empty: new Fernet(K1).encrypt(Buffer.alloc(0), T).toString('latin1'),
    big: new Fernet(K1).encrypt(BIG, T).toString('latin1'),
    block: new Fernet(K1).encrypt(Buffer.alloc(16, 5), T).toString('latin1'),
    rotated: new MultiFernet([new Fernet(K2), new Fernet(K1)]).encrypt(PLAIN, T).toString(),
    secret: channelsRedisFernet(SECRET).encrypt(PLAIN, T).toString('latin1'),
  }
  const hex = (bytes: Buffer) => bytes.toString('hex')
  const tasks: Task[] = [
    { kind: 'decrypt', key: K1, token: ours.k1 },
    { kind: 'decrypt', key: K1, token: ours.empty },
    { kind: 'decrypt', key: K1, token: ours.big },
    { kind: 'decrypt', key: K1, token: ours.block },
    { kind: 'decrypt', key: K1, token: ours.k1, ttl: 100, now: T + 100 },
    { kind: 'decrypt', key: K1, token: ours.k1, ttl: 100, now: T + 101 },
    { kind: 'decrypt', key: K1, token: ours.k1, ttl: 100, now: T - 61 },
    { kind: 'decrypt', key: K2, token: ours.k1 },
    { kind: 'decrypt', key: K2, token: ours.rotated },
    { kind: 'decrypt', key: K1, token: ours.rotated },
    { kind: 'decrypt', keys: [K2, K1], token: ours.k1 },
    { kind: 'decrypt', keys: [K3, K2], token: ours.k1 },
    { kind: 'decrypt', secret: SECRET, token: ours.secret },
    { kind: 'decrypt', secret: 'other', token: ours.secret },
    { kind: 'encrypt', key: K1, plain: hex(PLAIN), at: T },
    { kind: 'encrypt', key: K1, plain: hex(BIG), at: T },
    { kind: 'encrypt', keys: [K2, K1], plain: hex(PLAIN), at: T },
    { kind: 'encrypt', secret: SECRET, plain: hex(PLAIN), at: T },
    { kind: 'b64', texts: B64_TEXTS },
    ...[...BAD_KEYS, ...ODD_GOOD_KEYS].map(([, key]) => ({ kind: 'fernet_key', key })),
  ]
  let results: Result[] = []
  beforeAll(async () => {
    results = await python(tasks)
  })
  const result = (i: number) => results[i]!
  const plainOf = (i: number) => Buffer.from(result(i).plain as string, 'hex')

  it('Python decrypts our tokens (short, empty, multi-block, one full block)', () => {
    expect(plainOf(0)).toEqual(PLAIN)
    expect(plainOf(1)).toEqual(Buffer.alloc(0))
    expect(plainOf(2)).toEqual(BIG)
    expect(plainOf(3)).toEqual(Buffer.alloc(16, 5))
  })

  it('Python applies the ttl and clock skew to our timestamps as we do', () => {
    expect(plainOf(4)).toEqual(PLAIN)
    expect(result(5).error).toBe('InvalidToken')
    expect(result(6).error).toBe('InvalidToken')
  })

  it('Python refuses our token under the wrong key', () => {
    expect(result(7).error).toBe('InvalidToken')
  })

  it('rotation: our MultiFernet encrypts with its first key, Python MultiFernet reads old', () => {
    expect(plainOf(8)).toEqual(PLAIN)
    expect(result(9).error).toBe('InvalidToken')
    expect(plainOf(10)).toEqual(PLAIN)
    expect(result(11).error).toBe('InvalidToken')
  })

  it("make_fernet reads channelsRedisFernet's tokens, only with the same secret", () => {
    expect(plainOf(12)).toEqual(PLAIN)
    expect(result(13).error).toBe('InvalidToken')
  })

  it('we decrypt Python tokens, with its timestamp, ttl and clock skew', () => {
    const token = result(14).token as string
    expect(unb64(token).readBigUInt64BE(1)).toBe(BigInt(T))
    const fernet = new Fernet(K1)
    expect(fernet.decrypt(token)).toEqual(PLAIN)
    expect(fernet.decrypt(Buffer.from(token, 'latin1'), 100, T + 100)).toEqual(PLAIN)
    expect(reasonOf(() => fernet.decrypt(token, 100, T + 101))).toBe('expired')
    expect(reasonOf(() => fernet.decrypt(token, 100, T - 61))).toBe('future')
    expect(reasonOf(() => new Fernet(K2).decrypt(token))).toBe('signature')
    expect(fernet.decrypt(result(15).token as string)).toEqual(BIG)
  })

  it("we decrypt a Python MultiFernet's token with its first key only, and old ones too", () => {
    const token = result(16).token as string
    expect(new Fernet(K2).decrypt(token)).toEqual(PLAIN)
    expect(reasonOf(() => new Fernet(K1).decrypt(token))).toBe('signature')
    expect(new MultiFernet([new Fernet(K3), new Fernet(K2)]).decrypt(token)).toEqual(PLAIN)
    expect(reasonOf(() => new MultiFernet([new Fernet(K3)]).decrypt(token))).toBe('signature')
  })

  it("channelsRedisFernet reads channels_redis's make_fernet tokens", () => {
    const token = result(17).token as string
    expect(channelsRedisFernet(SECRET).decrypt(token)).toEqual(PLAIN)
    expect(reasonOf(() => channelsRedisFernet('other').decrypt(token))).toBe('signature')
  })

  it('Python and we decode the same base64, and refuse the same', () => {
    const expected = result(18).decoded as (string | null)[]
    const ours = B64_TEXTS.map((text) => {
      const bytes = urlsafeB64Decode(Buffer.from(text, 'latin1'))
      return bytes === undefined ? null : bytes.toString('hex')
    })
    expect(ours).toEqual(expected)
    expect(expected.filter((item) => item === null).length).toBeGreaterThan(100)
  })

  it('Python and we accept and refuse the same keys, with the same message', () => {
    BAD_KEYS.forEach((_, i) =>
      expect(result(19 + i)).toEqual({ error: 'ValueError', message: KEY_ERROR }),
    )
    ODD_GOOD_KEYS.forEach((_, i) => expect(result(19 + BAD_KEYS.length + i)).toEqual({ ok: true }))
  })
})
