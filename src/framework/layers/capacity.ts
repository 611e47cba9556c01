/**
 * Per-channel capacities (`channel_capacity`): glob strings (fnmatch syntax) or RegExps mapped to
 * a capacity, first match wins. Channels' InMemory layer stores the raw dict and then iterates it
 * as pairs, so any non-empty `channel_capacity` breaks there; this compiles it, as channels_redis
 * does (https://github.com/django/channels_redis/blob/main/channels_redis/core.py).
 * @module
 */
import { ValueError } from '../asgi/errors.js'
import { describeValue } from '../../util/describe.js'

/** What a user may pass: `{ 'http.*': 200 }`, `[[/^ws\./, 20], ['*', 100]]`, or a Map. */
export type ChannelCapacityInput =
  | Readonly<Record<string, number>>
  | ReadonlyArray<readonly [string | RegExp, number]>
  | ReadonlyMap<string | RegExp, number>

/** A compiled (pattern, capacity) pair. */
export type CapacityRule = readonly [RegExp, number]

/**
 * Translate an fnmatch-style glob (`*`, `?`, `[seq]`, `[!seq]`) into an anchored RegExp, like
 * Python's `fnmatch.translate`.
 */
export function globToRegExp(glob: string): RegExp {
  let out = ''
  let i = 0
  while (i < glob.length) {
    const c = glob[i++] as string
    if (c === '*') {
      // Collapse runs of '*' (fnmatch does too; it avoids pathological backtracking).
      while (glob[i] === '*') i++
      out += '.*'
    } else if (c === '?') {
      out += '.'
    } else if (c === '[') {
      let j = i
      if (glob[j] === '!') j++
      if (glob[j] === ']') j++
      while (j < glob.length && glob[j] !== ']') j++
      if (j >= glob.length) {
        out += '\\['
      } else {
        // A leading ']' is literal in fnmatch; JS reads "[]" as an empty class, so escape it.
        let stuff = glob.slice(i, j).replace(/\\/g, '\\\\').replace(/]/g, '\\]')
        i = j + 1
        if (stuff.startsWith('!')) stuff = '^' + stuff.slice(1)
        else if (stuff.startsWith('^') || stuff.startsWith('[')) stuff = '\\' + stuff
        out += `[${stuff}]`
      }
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
    }
  }
  try {
    return new RegExp(`^(?:${out})$`, 's')
  } catch (err) {
    throw new ValueError(`Invalid channel_capacity pattern ${JSON.stringify(glob)}`, { cause: err })
  }
}

/**
 * Compile a `channel_capacity` option into ordered rules. Strings are globs; RegExps are used
 * with `test()` (unanchored, so write `^` yourself; Python's `match()` anchors only the start).
 */
export function compileCapacities(input: ChannelCapacityInput | undefined | null): CapacityRule[] {
  if (input === undefined || input === null) return []
  // Entries are checked one by one: JavaScript callers may pass anything.
  let pairs: Iterable<unknown>
  if (input instanceof Map || Array.isArray(input)) {
    pairs = input as Iterable<unknown>
  } else if (typeof input === 'object') {
    pairs = Object.entries(input)
  } else {
    throw new TypeError(
      'channel_capacity must be an object, an array of [pattern, capacity] pairs or a Map, ' +
        `got ${describeValue(input)}`,
    )
  }
  const rules: CapacityRule[] = []
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError('channel_capacity entries must be [pattern, capacity] pairs')
    }
    const [pattern, capacity] = pair as [unknown, unknown]
    rules.push([toRegExp(pattern), checkCapacity(capacity, `channel_capacity[${String(pattern)}]`)])
  }
  return rules
}

/** The capacity of `channel`: the first matching rule's, else `fallback`. */
export function capacityFor(rules: readonly CapacityRule[], channel: string, fallback: number) {
  for (const [pattern, capacity] of rules) {
    if (pattern.test(channel)) return capacity
  }
  return fallback
}

/** Validate a capacity: a positive integer or Infinity. */
export function checkCapacity(value: unknown, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number, got ${describeValue(value)}`)
  }
  // asyncio.Queue(maxsize=0) is unbounded in Channels; say Infinity instead of relying on that.
  if (value !== Infinity && (!Number.isInteger(value) || value < 1)) {
    throw new ValueError(`${name} must be a positive integer or Infinity, got ${value}`)
  }
  return value
}

function toRegExp(pattern: unknown): RegExp {
  if (pattern instanceof RegExp) {
    // A global/sticky RegExp keeps lastIndex between test() calls and would match every other time.
    return pattern.global || pattern.sticky
      ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''))
      : pattern
  }
  if (typeof pattern === 'string') return globToRegExp(pattern)
  throw new TypeError(
    `channel_capacity patterns must be strings or RegExps, got ${describeValue(pattern)}`,
  )
}
