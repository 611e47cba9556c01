/**
 * How error messages name a value they did not expect, in one wording across the package.
 * @module
 */

/**
 * A short phrase for `value`'s kind: `null`, `undefined`, `an array`, `a string`, `a number`,
 * `a boolean`, `a bigint`, `a symbol`, `a function`, `an object` (a plain or null-prototype
 * object), or an instance by its constructor's name (`a Uint8Array`, `a Map`). Never the value
 * itself: it may be large or secret.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  if (typeof value !== 'object') return withArticle(typeof value)
  const name = constructorName(value)
  return name === undefined || name === 'Object' ? 'an object' : withArticle(name)
}

/**
 * A phrase for something passed as an ASGI or channel message: its type in quotes
 * (`'websocket.send'`) when it has a string `type`, else what {@link describeValue} says, with
 * `an object without a string 'type'` for an object.
 */
export function describeMessage(message: unknown): string {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    return describeValue(message)
  }
  const type = (message as { type?: unknown }).type
  return typeof type === 'string' ? `'${type}'` : "an object without a string 'type'"
}

function constructorName(value: object): string | undefined {
  const prototype = Object.getPrototypeOf(value) as { constructor?: unknown } | null
  if (prototype === null) return undefined
  const ctor = prototype.constructor
  if (typeof ctor !== 'function' || ctor.name === '') return undefined
  return ctor.name
}

/** `a`/`an` by the first letter; `u` takes `a` (`a Uint8Array`, `a URL`). */
function withArticle(noun: string): string {
  return /^[aeio]/i.test(noun) ? `an ${noun}` : `a ${noun}`
}

/**
 * An error's message for a log line: each reason of an AggregateError (a failed connect to every
 * address of a host), the name of an error without a message, else the value as text.
 */
export function errorText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(errorText).join('; ')
  }
  if (error instanceof Error) return error.message || error.name
  return String(error)
}
