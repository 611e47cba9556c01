import { ValueError } from '../asgi/errors.js'

/**
 * A `path()` converter (Django's): `regex` (JavaScript syntax) matches the captured text and
 * `toPython` turns it into the value put in `url_route.kwargs`; throwing means "no match".
 */
export interface PathConverter {
  readonly regex: string
  toPython(value: string): unknown
  /** Inverse of `toPython`, kept for ported converters; the router does not call it. */
  toUrl?(value: unknown): string
}

const identity = (value: string): string => value

/** Django's five built-in converters. `uuid` keeps the (lower-case) string; `int` a number. */
export const DEFAULT_CONVERTERS: Readonly<Record<string, PathConverter>> = Object.freeze({
  str: { regex: '[^/]+', toPython: identity },
  int: {
    regex: '[0-9]+',
    toPython(value: string): number {
      const n = Number(value)
      // Python ints are unbounded; a JS number would silently lose digits, so no match.
      if (!Number.isSafeInteger(n)) throw new ValueError(`${value} is not a safe integer`)
      return n
    },
  },
  slug: { regex: '[-a-zA-Z0-9_]+', toPython: identity },
  uuid: {
    regex: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
    toPython: identity,
  },
  path: { regex: '.+', toPython: identity },
})

const registered = new Map<string, PathConverter>(Object.entries(DEFAULT_CONVERTERS))

/**
 * Makes `<typeName:param>` available to routes built afterwards (Django's `register_converter`).
 * Re-registering a name is a ValueError, as in Django 6.
 */
export function registerConverter(converter: PathConverter, typeName: string): void {
  if (typeof typeName !== 'string' || typeName === '' || /[:>]/.test(typeName)) {
    throw new TypeError(`Converter type name must be a non-empty string without ':' or '>'.`)
  }
  // Checked loosely typed: JavaScript callers may pass anything.
  const given = converter as Partial<PathConverter> | null
  if (
    typeof given !== 'object' ||
    given === null ||
    typeof given.regex !== 'string' ||
    typeof given.toPython !== 'function'
  ) {
    throw new TypeError(
      `Converter '${typeName}' must be an object with a string 'regex' and a 'toPython' function.`,
    )
  }
  if (registered.has(typeName)) {
    throw new ValueError(`Converter '${typeName}' is already registered.`)
  }
  try {
    new RegExp(converter.regex)
  } catch (err) {
    throw new TypeError(`Converter '${typeName}' has an invalid regex: ${(err as Error).message}`, {
      cause: err,
    })
  }
  registered.set(typeName, converter)
}

/** The converter registered under `typeName`, if any. */
export function getConverter(typeName: string): PathConverter | undefined {
  return registered.get(typeName)
}
