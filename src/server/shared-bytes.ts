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
import type { HeaderPair } from '../asgi/types.js'


/** A bounded string → latin-1 Buffer cache. */
class ByteCache {
  readonly #map = new Map<string, Buffer>()
  readonly #max: number
  readonly #maxLength: number

  constructor(max: number, maxLength: number) {
    this.#max = max
    this.#maxLength = maxLength
  }

  /** The shared Buffer for `text` (latin-1), or a fresh one when `text` is too long to keep. */
  get(text: string): Buffer {
    let bytes = this.#map.get(text)
    if (bytes !== undefined) return bytes
    bytes = Buffer.from(text, 'latin1')
    if (text.length <= this.#maxLength) {
      if (this.#map.size >= this.#max) this.#map.clear()
      this.#map.set(text, bytes)
    }
    return bytes
  }
}

const NAMES = new ByteCache(512, 256)
const PATHS = new ByteCache(1024, 256)
/** Distinct values kept per shared header name, and the longest value kept. */
const MAX_PAIRS_PER_NAME = 256
const MAX_SHARED_VALUE = 512

/** Header names whose values repeat across clients (never a per-client secret or id). */
const SHARED_PAIRS = new Map<string, Map<string, HeaderPair>>(
  [
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
  ].map((name) => [name, new Map()]),
)

/** A scope header pair (latin-1 bytes): shared and frozen for low-cardinality headers. */
export function headerPair(name: string, value: string): HeaderPair {
  const pairs = SHARED_PAIRS.get(name)
  if (pairs === undefined || value.length > MAX_SHARED_VALUE)
    return [NAMES.get(name), Buffer.from(value, 'latin1')]
  let pair = pairs.get(value)
  if (pair === undefined) {
    if (pairs.size >= MAX_PAIRS_PER_NAME) pairs.clear()
    pair = Object.freeze([NAMES.get(name), Buffer.from(value, 'latin1')]) as unknown as HeaderPair
    pairs.set(value, pair)
  }
  return pair
}

/** The latin-1 bytes of a request path (`raw_path`), shared. */
export function pathBytes(path: string): Buffer {
  return PATHS.get(path)
}
