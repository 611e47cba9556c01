import { ImproperlyConfigured } from '../asgi/errors.js'
import { NO_ARGS, NO_KWARGS, type Matcher, type Pattern } from './pattern.js'
import { fromPythonRegex } from './python-regex.js'
import { describeValue } from '../../util/describe.js'

function compileMatcher(regex: RegExp): Matcher {
  return (path) => {
    const match = regex.exec(path)
    if (match === null) return null
    const rest = path.slice(match.index + match[0].length)
    const groups = match.groups
    // Django: any named group → kwargs from named groups only (unmatched ones dropped) and no
    // args; otherwise every group is positional.
    if (groups !== undefined) {
      const kwargs: Record<string, unknown> = {}
      for (const name in groups) {
        const value = groups[name]
        if (value !== undefined) kwargs[name] = value
      }
      return { rest, args: NO_ARGS, kwargs }
    }
    return { rest, args: match.length > 1 ? match.slice(1) : NO_ARGS, kwargs: NO_KWARGS }
  }
}

/**
 * An `rePath()` pattern with Django's rules: as an endpoint it must match the whole path only
 * if the regex ends with `$`; otherwise it is searched for anywhere (unanchored), and the path
 * after the match is what remains.
 */
export class RegexPattern implements Pattern {
  readonly #search: RegExp
  readonly #full: RegExp | null

  constructor(readonly regex: string | RegExp) {
    let source: string
    let flags: string
    try {
      if (regex instanceof RegExp) {
        source = regex.source
        // g and y make exec() stateful (lastIndex); routing needs it stateless.
        flags = regex.flags.replace(/[gy]/g, '')
      } else if (typeof regex === 'string') {
        ;({ source, flags } = fromPythonRegex(regex))
      } else {
        const got = describeValue(regex)
        throw new TypeError(`rePath() regex must be a string or a RegExp, got ${got}.`)
      }
      this.#search = new RegExp(source, flags)
      const original = typeof regex === 'string' ? regex : regex.source
      // Django uses fullmatch only when the pattern text ends with '$'.
      this.#full = original.endsWith('$')
        ? new RegExp(
            flags.includes('m') ? `(?<![\\s\\S])(?:${source})(?![\\s\\S])` : `^(?:${source})$`,
            flags,
          )
        : null
    } catch (err) {
      if (err instanceof TypeError) throw err
      throw new ImproperlyConfigured(
        `"${String(regex)}" is not a valid regular expression: ${(err as Error).message}`,
        { cause: err },
      )
    }
  }

  compile(isEndpoint: boolean): Matcher {
    return compileMatcher(isEndpoint && this.#full !== null ? this.#full : this.#search)
  }

  toString(): string {
    return `'${typeof this.regex === 'string' ? this.regex : this.regex.source}'`
  }
}
