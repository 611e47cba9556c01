import { describe, expect, it } from 'vitest'
import { ImproperlyConfigured } from '../../../src/framework/asgi/errors.js'
import { RegexPattern } from '../../../src/framework/routing/index.js'

const endpoint = (regex: string | RegExp) => new RegexPattern(regex).compile(true)
const prefix = (regex: string | RegExp) => new RegexPattern(regex).compile(false)

describe('RegexPattern (rePath())', () => {
  it('searches unanchored unless the regex ends with $', () => {
    expect(endpoint('bar')('bar/baz/')).toEqual({ rest: '/baz/', args: [], kwargs: {} })
    // Django quirk kept on purpose: re_path('bar') also matches 'foobar/'.
    expect(endpoint('bar')('foobar/')).toEqual({ rest: '/', args: [], kwargs: {} })
    expect(endpoint('^bar/$')('bar/')).toEqual({ rest: '', args: [], kwargs: {} })
    expect(endpoint('^bar/$')('bar/x')).toBeNull()
  })

  it('uses fullmatch for a $-terminated endpoint, so alternatives must span the path', () => {
    // search('a|ab$') on 'ab' would stop at 'a'; fullmatch has to take 'ab'.
    expect(endpoint('a|ab$')('ab')).toEqual({ rest: '', args: [], kwargs: {} })
    expect(prefix('a|ab$')('ab')).toEqual({ rest: 'b', args: [], kwargs: {} })
  })

  it('named groups become kwargs (unmatched ones dropped) and args stay empty', () => {
    const match = endpoint(String.raw`^(?<a>\d+)/(?:(?<b>x)|y)/(\w)$`)
    expect(match('1/y/z')).toEqual({ rest: '', args: [], kwargs: { a: '1' } })
    expect(match('1/x/z')).toEqual({ rest: '', args: [], kwargs: { a: '1', b: 'x' } })
  })

  it('without named groups every group is positional', () => {
    expect(endpoint(String.raw`^(\d+)/(\w+)/$`)('1/ab/')).toEqual({
      rest: '',
      args: ['1', 'ab'],
      kwargs: {},
    })
  })

  it('accepts Python syntax copied from Channels examples', () => {
    expect(endpoint(String.raw`^ws/chat/(?P<room_name>\w+)/$`)('ws/chat/lobby/')?.kwargs).toEqual({
      room_name: 'lobby',
    })
    expect(endpoint(String.raw`^(?P<w>\w)-(?P=w)$`)('a-a')?.kwargs).toEqual({ w: 'a' })
    expect(endpoint(String.raw`^(?P<w>\w)-(?P=w)$`)('a-b')).toBeNull()
    expect(endpoint(String.raw`\Afoo\Z`)('foo')).toEqual({ rest: '', args: [], kwargs: {} })
    expect(endpoint(String.raw`\Afoo\Z`)('xfoo')).toBeNull()
    expect(endpoint(String.raw`\Afoo\Z`)('foox')).toBeNull()
    expect(endpoint('(?i)^chat/$')('CHAT/')).not.toBeNull()
    expect(endpoint('^[]a]+$')(']a]')).not.toBeNull()
    expect(endpoint('^[^]a]+$')('bc')).not.toBeNull()
    expect(endpoint('^[^]a]+$')('b]')).toBeNull()
  })

  it('accepts a RegExp, keeps its flags and drops the stateful ones', () => {
    const match = endpoint(/^chat\/(?<room>\w+)\/$/gi)
    expect(match('CHAT/a/')?.kwargs).toEqual({ room: 'a' })
    // With 'g' kept, the second exec would start at lastIndex and miss.
    expect(match('CHAT/a/')?.kwargs).toEqual({ room: 'a' })
    expect(endpoint(/^a$/m)('a\nb')).toBeNull()
  })

  it('rejects an invalid regex at construction', () => {
    expect(() => new RegexPattern('^chat/(?<room>\\w+/$')).toThrow(ImproperlyConfigured)
    expect(() => new RegexPattern('^chat/(?<room>\\w+/$')).toThrow(
      /^"\^chat\/\(\?<room>\\w\+\/\$" is not a valid regular expression: /,
    )
    expect(() => new RegexPattern('(?x)^a b$')).toThrow(
      "is not a valid regular expression: inline flag 'x' has no JavaScript equivalent",
    )
    expect(() => new RegexPattern('(?P=w')).toThrow(ImproperlyConfigured)
    expect(() => new RegexPattern(5 as never)).toThrow(
      new TypeError('rePath() regex must be a string or a RegExp, got a number.'),
    )
  })
})
