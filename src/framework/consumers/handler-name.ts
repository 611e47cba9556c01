/**
 * Channels' message-type → handler-name rule, decided once: `'chat.message'` → `chat_message`.
 * @module
 */
import { ValueError } from '../asgi/errors.js'
import { describeValue } from '../../util/describe.js'

// Names a message must never reach even though every object has them: `constructor` would build
// a new consumer and Object.prototype members (`toString`, `hasOwnProperty`…) are not handlers.
const BLOCKED = new Set<string>(['constructor', ...Object.getOwnPropertyNames(Object.prototype)])

// Message types are a small, stable set in practice; the bound only stops a peer that invents
// types (via a layer) from growing the cache without limit.
const CACHE_LIMIT = 1024
const cache = new Map<string, string | null>()

/**
 * The method name for a message type (`.` → `_`), or `null` when the name is one that can never
 * be a handler. Throws ValueError for a missing type or a leading underscore (channels#1430).
 */
export function handlerName(type: unknown): string | null {
  if (typeof type !== 'string') {
    if (type === undefined || type === null) {
      throw new ValueError("Incoming message has no 'type' attribute")
    }
    throw new TypeError(`Message type must be a string, got ${describeValue(type)}`)
  }
  let name = cache.get(type)
  if (name === undefined) {
    const candidate = type.replaceAll('.', '_')
    if (candidate.startsWith('_'))
      throw new ValueError('Malformed type in message (leading underscore)')
    name = BLOCKED.has(candidate) ? null : candidate
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(type, name)
  }
  return name
}
