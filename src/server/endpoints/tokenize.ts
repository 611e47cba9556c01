/**
 * The lexical half of Twisted's strports syntax (`twisted.internet.endpoints._tokenize` and
 * `_parse`): `:` separates segments, the first `=` in a segment splits keyword from value (later
 * `=` are literal), and a backslash makes the next character literal. Offsets into the raw
 * description are kept so that errors can point at the bad part.
 * @module
 */
import { EndpointSyntaxError } from '../../framework/asgi/errors.js'

/** One `:`-separated segment, unescaped, with where it sat in the raw description. */
export interface Segment {
  /** The keyword before the first `=`, or undefined for a positional argument. */
  key?: string
  value: string
  /** Raw offset of the segment's first character. */
  start: number
  /** Raw offset just past the segment. */
  end: number
  /** Raw offset of the value (after `=` for a keyword; `start` for a positional). */
  valueStart: number
}

/**
 * Build an EndpointSyntaxError whose message quotes the description with a caret line under
 * the raw range `[start, end)` (one caret for an empty range, e.g. "missing" errors at the end).
 */
export function endpointSyntaxError(
  description: string,
  message: string,
  start: number,
  end = start,
): EndpointSyntaxError {
  const carets = '^'.repeat(Math.max(1, end - start))
  return new EndpointSyntaxError(
    `${message} (at offset ${start})\n  ${description}\n  ${' '.repeat(start)}${carets}`,
  )
}

/** Split a description into segments exactly as Twisted's tokenizer does. */
export function tokenize(description: string): Segment[] {
  const segments: Segment[] = []
  let current = ''
  let key: string | undefined
  let start = 0
  let valueStart = 0
  for (let i = 0; i < description.length; i++) {
    const ch = description.charAt(i)
    if (ch === ':') {
      segments.push({ key, value: current, start, end: i, valueStart })
      current = ''
      key = undefined
      start = valueStart = i + 1
    } else if (ch === '=' && key === undefined) {
      key = current
      current = ''
      valueStart = i + 1
    } else if (ch === '\\') {
      // Twisted's tokenizer dies with StopIteration here; say what is wrong instead.
      if (i + 1 >= description.length) {
        throw endpointSyntaxError(description, 'Dangling backslash at the end of the endpoint', i)
      }
      current += description.charAt(++i)
    } else {
      current += ch
    }
  }
  segments.push({ key, value: current, start, end: description.length, valueStart })
  return segments
}
