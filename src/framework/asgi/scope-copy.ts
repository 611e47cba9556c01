/**
 * Shallow scope copies in one allocation. Every middleware and router copies the scope it
 * passes down (Channels' `dict(scope, key=value)`). `Object.assign({}, scope)` adds the keys one
 * at a time and regrows the copy's property store on the way: ~190 ns and ~250 B of garbage for
 * a WebSocket scope, twice per handshake behind AuthMiddlewareStack and a URLRouter. A copier
 * compiled for the scope's key list builds the copy as one object literal, the added keys
 * included: ~45 ns, one object, and every copy of a shape shares one hidden class.
 *
 * A copy carries the scope's own enumerable string keys, like `Object.assign({}, scope)` but
 * without symbol keys (ASGI scope keys are strings; checking every scope for symbols would cost
 * more than the copy), then the added keys are assigned. Scopes a literal could copy differently
 * (a prototype other than Object.prototype or null, a `__proto__` key) and every scope when code
 * generation from strings is disabled are copied key by key instead.
 * @module
 */

/** Shapes remembered per copier (scopes of different protocols or routes differ in keys). */
const MAX_SHAPES = 4
/** Compilations per copier, at most: a site that keeps seeing new shapes stops compiling. */
const MAX_COMPILES = 16
/** Longer key lists are copied with Object.assign. */
const MAX_KEYS = 64

type Build = (scope: object, a: unknown, b: unknown, c: unknown) => Record<string, unknown>

interface Shape {
  keys: string[]
  build: Build
}

/** The keys `for…in` visits, in order, are exactly `keys`. */
function hasKeys(scope: object, keys: readonly string[]): boolean {
  let i = 0
  for (const key in scope) {
    if (key !== keys[i]) return false
    i++
  }
  return i === keys.length
}

/**
 * Copies scopes and sets up to three added keys on the copy: `copier.copy(scope, a, b, c)` is
 * `Object.assign({}, scope)` then `copy[k0] = a; copy[k1] = b; copy[k2] = c` for the keys given
 * to the constructor. Make one per call site (it remembers the shapes that site sees).
 */
export class ScopeCopier {
  readonly #added: readonly string[]
  readonly #shapes: Shape[] = []
  #compiles = 0

  constructor(addedKeys: readonly string[]) {
    if (addedKeys.length > 3) throw new RangeError('ScopeCopier sets at most three keys')
    if (addedKeys.includes('__proto__')) throw new RangeError("ScopeCopier cannot set '__proto__'")
    this.#added = [...addedKeys]
  }

  /** A shallow copy of `scope` with the added keys set to `a`, `b`, `c` (in constructor order). */
  copy(scope: object, a?: unknown, b?: unknown, c?: unknown): Record<string, unknown> {
    const prototype = Object.getPrototypeOf(scope) as unknown
    // for…in visits inherited keys too: with these prototypes there are none to visit.
    if (prototype === Object.prototype || prototype === null) {
      const shapes = this.#shapes
      for (let i = 0; i < shapes.length; i++) {
        const shape = shapes[i] as Shape
        if (hasKeys(scope, shape.keys)) return shape.build(scope, a, b, c)
      }
    }
    const copy: Record<string, unknown> = {}
    const source = scope as Record<string, unknown>
    for (const key of Object.keys(source)) copy[key] = source[key]
    const added = this.#added
    if (added.length > 0) copy[added[0] as string] = a
    if (added.length > 1) copy[added[1] as string] = b
    if (added.length > 2) copy[added[2] as string] = c
    if (this.#compiles < MAX_COMPILES) this.#learn(scope)
    return copy
  }

  /** Compile a builder for `scope`'s shape, if a literal copies it exactly. */
  #learn(scope: object): void {
    const prototype = Object.getPrototypeOf(scope) as unknown
    if (prototype !== Object.prototype && prototype !== null) return
    const keys = Object.keys(scope)
    if (keys.length > MAX_KEYS || keys.includes('__proto__')) return
    if (!hasKeys(scope, keys)) return
    this.#compiles++
    const fields = keys.map((key) => `${JSON.stringify(key)}: s[${JSON.stringify(key)}]`)
    this.#added.forEach((key, i) => fields.push(`${JSON.stringify(key)}: ${'abc'[i]}`))
    let build: Build
    try {
      const body = `'use strict'; return {${fields.join(', ')}}`
      // Compiling the copier is the point of this class; keys enter it only JSON-quoted.
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see above
      build = new Function('s', 'a', 'b', 'c', body) as Build
    } catch {
      // --disallow-code-generation-from-strings: Object.assign it is, from now on.
      this.#compiles = MAX_COMPILES
      return
    }
    if (this.#shapes.length >= MAX_SHAPES) this.#shapes.shift()
    this.#shapes.push({ keys, build })
  }
}
