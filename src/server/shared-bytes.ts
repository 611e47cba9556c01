/**
 * Shared latin-1 Buffers for the scope bytes that repeat across connections: header names,
 * the values of low-cardinality headers (`host`, `origin`, `upgrade`, `user-agent` …) and
 * request paths.
 *
 * Performance notes: a Buffer object costs ~100 bytes however short its content, and an idle
 * WebSocket keeps its scope (and so its header Buffers) for its whole life. Browsers on one site
 * send the same `host`, `origin`, `upgrade`, `connection`, `sec-websocket-version`, `user-agent`
 * values on every connection, so those are shared: one Buffer per distinct value instead of one
 * per connection, and no byte copy on a hit. Values that differ per connection (the
 * `sec-websocket-key`, cookies, credentials) are never cached. Each cache is bounded and simply
 * emptied when full, so hostile or varied input costs at most a cache miss. ASGI scopes are
 * read-only by convention: an app that wrote into these bytes would change other scopes too
 * (Node's small Buffers already share one memory pool).
 * @module
 */

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
const VALUES = new ByteCache(1024, 512)
const PATHS = new ByteCache(1024, 256)

/** Header names whose values repeat across clients (never a per-client secret or id). */
const SHARED_VALUE_NAMES = new Set([
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
])

/** The latin-1 bytes of a (lower-case) header name, shared. */
export function headerNameBytes(name: string): Buffer {
  return NAMES.get(name)
}

/** The latin-1 bytes of a header value: shared for low-cardinality headers, else fresh. */
export function headerValueBytes(name: string, value: string): Buffer {
  return SHARED_VALUE_NAMES.has(name) ? VALUES.get(value) : Buffer.from(value, 'latin1')
}

/** The latin-1 bytes of a request path (`raw_path`), shared. */
export function pathBytes(path: string): Buffer {
  return PATHS.get(path)
}
