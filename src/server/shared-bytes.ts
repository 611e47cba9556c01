/**
 * Shared scope parts that repeat across connections: header names, whole `[name, value]` pairs
 * of low-cardinality headers (`host`, `origin`, `upgrade`, `user-agent` …) and request paths.
 *
 * Performance notes: a Buffer object costs ~100 bytes however short its content, a pair array
 * ~64 more, and an idle WebSocket keeps its scope (and so its headers) for its whole life.
 * Browsers on one site send the same `host`, `origin`, `upgrade`, `connection`,
 * `sec-websocket-version`, `user-agent` values on every connection, so those pairs are shared:
 * one frozen pair per distinct value instead of one pair and one Buffer per connection, and no
 * byte copy on a hit. Frozen like the tuples Python servers put in a scope: writing into a
 * shared pair throws. Values that differ per connection (the `sec-websocket-key`, cookies,
 * credentials) are never cached. Each cache is bounded and simply emptied when full, so hostile
 * or varied input costs at most a cache miss. ASGI scopes are read-only by convention: an app
 * that wrote into the shared bytes would change other scopes too (Node's small Buffers already
 * share one memory pool).
 * @module
 */
import type { HeaderPair } from '../framework/asgi/types.js'

/** A bounded string → latin-1 Buffer cache. */
class ByteCache {
  readonly #map = new Map<string, Buffer>()
  readonly #max: number
  readonly #maxLength: number
  // The last text asked for and its bytes: a string compare instead of hashing a fresh string
  // (every string uWS hands us is new) when the same one comes again, as it mostly does.
  #lastText = ''
  #lastBytes: Buffer | null = null

  constructor(max: number, maxLength: number) {
    this.#max = max
    this.#maxLength = maxLength
  }

  /** The shared Buffer for `text` (latin-1), or a fresh one when `text` is too long to keep. */
  get(text: string): Buffer {
    if (this.#lastBytes !== null && text === this.#lastText) return this.#lastBytes
    if (text.length > this.#maxLength) return Buffer.from(text, 'latin1')
    let bytes = this.#map.get(text)
    if (bytes === undefined) {
      bytes = Buffer.from(text, 'latin1')
      if (this.#map.size >= this.#max) this.#map.clear()
      this.#map.set(text, bytes)
    }
    this.#lastText = text
    this.#lastBytes = bytes
    return bytes
  }
}

const NAMES = new ByteCache(512, 256)
const PATHS = new ByteCache(1024, 256)
/** Distinct values kept per shared header name, and the longest value kept. */
const MAX_PAIRS_PER_NAME = 256
const MAX_SHARED_VALUE = 512

/** Header names whose values repeat across clients (never a per-client secret or id). */
const SHARED_NAMES = [
  'host',
  'origin',
  'upgrade',
  'connection',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'user-agent',
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'pragma',
  'content-type',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'sec-fetch-dest',
  'sec-fetch-mode',
  'sec-fetch-site',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
  'dnt',
]
/** Common names whose values differ per client: only the name bytes are shared. */
const OTHER_KNOWN_NAMES = [
  'sec-websocket-key',
  'cookie',
  'authorization',
  'content-length',
  'referer',
]

/** A known header name: its shared bytes and, for a shared name, its value → pair cache. */
interface KnownName {
  readonly name: string
  readonly bytes: Buffer
  readonly pairs: Map<string, HeaderPair> | null
  /** The last value seen and its pair: compared before the map (no hashing of a fresh string). */
  lastValue: string
  lastPair: HeaderPair | null
}

/**
 * Known names by length. Names arrive as new strings from the reactor; finding one by length
 * and string compare costs less than hashing it for a Map lookup, on every header of every
 * request.
 */
const KNOWN_BY_LENGTH: (KnownName[] | undefined)[] = []
for (const [names, shared] of [
  [SHARED_NAMES, true],
  [OTHER_KNOWN_NAMES, false],
] as const) {
  for (const name of names) {
    const known: KnownName = {
      name,
      bytes: NAMES.get(name),
      pairs: shared ? new Map() : null,
      lastValue: '',
      lastPair: null,
    }
    ;(KNOWN_BY_LENGTH[name.length] ??= []).push(known)
  }
}

function knownName(name: string): KnownName | undefined {
  const candidates = KNOWN_BY_LENGTH[name.length]
  if (candidates === undefined) return undefined
  for (let i = 0; i < candidates.length; i++) {
    const known = candidates[i] as KnownName
    if (known.name === name) return known
  }
  return undefined
}

/** A scope header pair (latin-1 bytes): shared and frozen for low-cardinality headers. */
export function headerPair(name: string, value: string): HeaderPair {
  const known = knownName(name)
  if (known === undefined) return [NAMES.get(name), Buffer.from(value, 'latin1')]
  const pairs = known.pairs
  if (pairs === null || value.length > MAX_SHARED_VALUE)
    return [known.bytes, Buffer.from(value, 'latin1')]
  if (known.lastPair !== null && value === known.lastValue) return known.lastPair
  let pair = pairs.get(value)
  if (pair === undefined) {
    if (pairs.size >= MAX_PAIRS_PER_NAME) pairs.clear()
    pair = Object.freeze([known.bytes, Buffer.from(value, 'latin1')]) as unknown as HeaderPair
    pairs.set(value, pair)
  }
  known.lastValue = value
  known.lastPair = pair
  return pair
}

/** The latin-1 bytes of a request path (`raw_path`), shared. */
export function pathBytes(path: string): Buffer {
  return PATHS.get(path)
}
