/**
 * Deep copy of a channel-layer message, as Channels' InMemory layer does (`deepcopy`), so a
 * receiver's changes never reach the sender or another receiver.
 * @module
 */

// Beyond this depth the message is probably cyclic: let structuredClone handle it.
const MAX_FAST_DEPTH = 64

class TooDeep extends Error {}

/**
 * Deep-copy a message. Plain objects, arrays, primitives and Buffers/Uint8Arrays are copied by a
 * fast path (structuredClone costs microseconds per call, and group fan-out copies once per
 * member); anything else (Date, Map, cycles…) goes through structuredClone, which also throws for
 * values no layer can carry, such as functions.
 */
export function cloneMessage<T>(message: T): T {
  if (isFlatMessage(message)) return { ...message }
  try {
    return copy(message, 0) as T
  } catch (err) {
    if (err instanceof TooDeep) return structuredClone(message)
    throw err
  }
}

/**
 * True for a plain object whose own values are all primitives (strings, numbers, booleans,
 * null…), like most chat events: for those a spread is a complete deep copy, and much cheaper
 * than walking the value. A group send checks once and spreads once per member.
 */
export function isFlatMessage(message: unknown): message is Record<string, unknown> {
  if (typeof message !== 'object' || message === null) return false
  // Null-prototype objects come out ordinary, from a spread as from the deep copy below.
  const proto: unknown = Object.getPrototypeOf(message)
  if (proto !== Object.prototype && proto !== null) return false
  for (const key in message) {
    const value = (message as Record<string, unknown>)[key]
    if ((typeof value === 'object' && value !== null) || typeof value === 'function') return false
    if (typeof value === 'symbol') return false
  }
  // Spread also copies symbol keys, which the deep copy leaves out.
  return Object.getOwnPropertySymbols(message).length === 0
}

function copy(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') return structuredClone(value)
    return value
  }
  if (depth > MAX_FAST_DEPTH) throw new TooDeep()
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i], depth + 1)
    return out
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {}
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      const item = copy((value as Record<string, unknown>)[key], depth + 1)
      // Plain assignment of an own "__proto__" key (JSON.parse makes those) would set the
      // copy's prototype instead of a property.
      if (key === '__proto__')
        Object.defineProperty(out, key, {
          value: item,
          enumerable: true,
          writable: true,
          configurable: true,
        })
      else out[key] = item
    }
    return out
  }
  if (Buffer.isBuffer(value)) return Buffer.from(value)
  if (value instanceof Uint8Array) return value.slice()
  return structuredClone(value)
}
