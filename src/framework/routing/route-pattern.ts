import { ImproperlyConfigured } from '../asgi/errors.js'
import { getConverter, type PathConverter } from './converters.js'
import { NO_ARGS, NO_KWARGS, type Matcher, type Pattern, type PatternMatch } from './pattern.js'
import { describeValue } from '../../util/describe.js'

// Django's _PATH_PARAMETER_COMPONENT_RE: <converter:parameter> or <parameter>.
const PARAMETER = /<(?:([^>:]+):)?([^>]+)>/g
// Python's string.whitespace (ASCII only).
const WHITESPACE = /[ \t\n\r\v\f]/
// Names usable as RegExp named groups (Django asks for a Python identifier).
const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * A `path()` route such as `'chat/<str:room>/'`, with Django's rules: without converters it
 * compares strings; with converters it is an anchored regex whose captures are converted.
 */
export class RoutePattern implements Pattern {
  readonly #regexBody: string
  readonly #converters: [name: string, converter: PathConverter][] = []

  constructor(readonly route: string) {
    if (typeof route !== 'string') {
      throw new TypeError(`path() route must be a string, got ${describeValue(route)}.`)
    }
    let body = ''
    let previousEnd = 0
    for (const match of route.matchAll(PARAMETER)) {
      const [whole, rawConverter = 'str', parameter = ''] = match
      if (WHITESPACE.test(whole)) {
        throw new ImproperlyConfigured(
          `URL route '${route}' cannot contain whitespace in angle brackets <…>.`,
        )
      }
      if (!IDENTIFIER.test(parameter)) {
        throw new ImproperlyConfigured(
          `URL route '${route}' uses parameter name '${parameter}' which isn't a valid identifier.`,
        )
      }
      if (this.#converters.some(([name]) => name === parameter)) {
        throw new ImproperlyConfigured(
          `URL route '${route}' uses parameter name '${parameter}' more than once.`,
        )
      }
      const converter = getConverter(rawConverter)
      if (converter === undefined) {
        throw new ImproperlyConfigured(
          `URL route '${route}' uses invalid converter '${rawConverter}'.`,
        )
      }
      this.#converters.push([parameter, converter])
      const literal = escapeRegExp(route.slice(previousEnd, match.index))
      body += `${literal}(?<${parameter}>${converter.regex})`
      previousEnd = match.index + whole.length
    }
    this.#regexBody = body + escapeRegExp(route.slice(previousEnd))
    if (this.#converters.length > 0) {
      try {
        new RegExp(this.#regexBody)
      } catch (err) {
        throw new ImproperlyConfigured(
          `URL route '${route}' does not compile: ${(err as Error).message}`,
          { cause: err },
        )
      }
    }
  }

  compile(isEndpoint: boolean): Matcher {
    const route = this.route
    if (this.#converters.length === 0) {
      // Django skips the regex when there is nothing to capture. An endpoint's match is always
      // the same, so it is one frozen object.
      const whole: PatternMatch = Object.freeze({ rest: '', args: NO_ARGS, kwargs: NO_KWARGS })
      return isEndpoint
        ? (path) => (path === route ? whole : null)
        : (path) =>
            path.startsWith(route)
              ? { rest: path.slice(route.length), args: NO_ARGS, kwargs: NO_KWARGS }
              : null
    }
    const regex = new RegExp(`^${this.#regexBody}${isEndpoint ? '$' : ''}`)
    const converters = this.#converters
    return (path) => {
      const match = regex.exec(path)
      if (match === null) return null
      const groups = match.groups ?? {}
      const kwargs: Record<string, unknown> = {}
      for (const [name, converter] of converters) {
        try {
          kwargs[name] = converter.toPython(groups[name] ?? '')
        } catch {
          // Django turns a converter's ValueError into "no match"; JS has no such convention,
          // so any throw does.
          return null
        }
      }
      return { rest: path.slice(match[0].length), args: NO_ARGS, kwargs }
    }
  }

  toString(): string {
    return `'${this.route}'`
  }
}
