/**
 * Structural comparison of CHANNEL_LAYERS values. The registry resets its cache whenever the
 * setting's object changes (Channels' rule, which tests rely on for isolation); a hot reload that
 * re-evaluates an unchanged `settings.ts` can use this to keep the old object, and so the live
 * layer whose groups the open connections are in.
 * @module
 */

/**
 * Whether two CHANNEL_LAYERS values describe the same layers: plain data compared deeply,
 * functions and classes (a BACKEND) by identity, RegExps by source and flags.
 */
export function sameChannelLayerConfigs(a: unknown, b: unknown): boolean {
  return equal(a, b, 0)
}

function equal(a: unknown, b: unknown, depth: number): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  // Config is shallow in practice; a cycle or absurd nesting is just "different".
  if (depth > 32) return false
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  if (a instanceof RegExp)
    return a.source === (b as RegExp).source && a.flags === (b as RegExp).flags
  if (a instanceof Map) {
    const other = b as Map<unknown, unknown>
    if (a.size !== other.size) return false
    for (const [key, value] of a) {
      if (!other.has(key) || !equal(value, other.get(key), depth + 1)) return false
    }
    return true
  }
  if (Array.isArray(a)) {
    const other = b as unknown[]
    return a.length === other.length && a.every((item, i) => equal(item, other[i], depth + 1))
  }
  const proto: unknown = Object.getPrototypeOf(a)
  if (proto !== Object.prototype && proto !== null) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  if (keysA.length !== keysB.length) return false
  return keysA.every(
    (key) =>
      Object.hasOwn(b, key) &&
      equal((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], depth + 1),
  )
}
