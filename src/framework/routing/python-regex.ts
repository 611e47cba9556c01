/**
 * Translates the Python `re` syntax that Django/Channels routing examples use into a
 * JavaScript RegExp source and flags, so copied `re_path()` patterns keep working:
 * `(?P<name>…)` → `(?<name>…)`, `(?P=name)` → `\k<name>`, `\A`/`\Z` → start/end of input,
 * a leading `[]…]` class member → `\]`, and leading global flags `(?i)`, `(?s)`, `(?m)`.
 */
export function fromPythonRegex(pattern: string): { source: string; flags: string } {
  let i = 0
  let flags = ''
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(pattern)
  if (leading !== null) {
    for (const flag of leading[1] ?? '') {
      if (flag === 'i' || flag === 'm' || flag === 's') flags += flags.includes(flag) ? '' : flag
      // a (ASCII) is what JS does anyway; u (Unicode) is Python's default for str patterns.
      else if (flag !== 'a' && flag !== 'u') {
        throw new SyntaxError(`inline flag '${flag}' has no JavaScript equivalent`)
      }
    }
    i = leading[0].length
  }

  let out = ''
  let inClass = false
  let classFirst = -1
  while (i < pattern.length) {
    const c = pattern.charAt(i)
    if (c === '\\') {
      const next = pattern[i + 1] ?? ''
      if (!inClass && next === 'Z') out += '(?![\\s\\S])'
      else if (!inClass && next === 'A') out += '(?<![\\s\\S])'
      else out += c + next
      i += 2
    } else if (inClass) {
      // In Python a `]` right after `[` or `[^` is a literal; in JS `[]` is an empty class.
      if (c === ']' && i === classFirst) out += '\\]'
      else {
        if (c === ']') inClass = false
        out += c
      }
      i += 1
    } else if (c === '[') {
      inClass = true
      out += '['
      i += 1
      if (pattern[i] === '^') {
        out += '^'
        i += 1
      }
      classFirst = i
    } else if (pattern.startsWith('(?P<', i)) {
      out += '(?<'
      i += 4
    } else if (pattern.startsWith('(?P=', i)) {
      const end = pattern.indexOf(')', i)
      if (end < 0) throw new SyntaxError('missing ), unterminated name')
      out += `\\k<${pattern.slice(i + 4, end)}>`
      i = end + 1
    } else {
      out += c
      i += 1
    }
  }
  return { source: out, flags }
}
