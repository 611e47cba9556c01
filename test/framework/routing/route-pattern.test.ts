import { describe, expect, it } from 'vitest'
import { ImproperlyConfigured, ValueError } from '../../../src/framework/asgi/errors.js'
import { registerConverter, RoutePattern } from '../../../src/framework/routing/index.js'

const endpoint = (route: string) => new RoutePattern(route).compile(true)
const prefix = (route: string) => new RoutePattern(route).compile(false)

describe('RoutePattern (path())', () => {
  it('compares plain routes as strings: whole path as endpoint, prefix otherwise', () => {
    expect(endpoint('foo/')('foo/')).toEqual({ rest: '', args: [], kwargs: {} })
    expect(endpoint('foo/')('foo/bar/')).toBeNull()
    expect(endpoint('foo/')('xfoo/')).toBeNull()
    expect(prefix('foo/')('foo/bar/')).toEqual({ rest: 'bar/', args: [], kwargs: {} })
    expect(prefix('')('anything')).toEqual({ rest: 'anything', args: [], kwargs: {} })
    expect(endpoint('')('')).toEqual({ rest: '', args: [], kwargs: {} })
    expect(endpoint('')('x')).toBeNull()
  })

  it('treats regex metacharacters in the route literally', () => {
    expect(endpoint('a.b/<int:n>/')('a.b/1/')).toEqual({ rest: '', args: [], kwargs: { n: 1 } })
    expect(endpoint('a.b/<int:n>/')('axb/1/')).toBeNull()
    expect(endpoint('(x)+/<n>')('(x)+/y')).toMatchObject({ kwargs: { n: 'y' } })
  })

  it('str is the default converter and stops at /', () => {
    expect(endpoint('author/<name>/')('author/andrew/')?.kwargs).toEqual({ name: 'andrew' })
    expect(endpoint('author/<str:name>/')('author/a/b/')).toBeNull()
  })

  it('int gives numbers, and refuses digits a number cannot hold', () => {
    expect(endpoint('year/<int:year>/')('year/2012/')?.kwargs).toEqual({ year: 2012 })
    expect(endpoint('year/<int:year>/')('year/007/')?.kwargs).toEqual({ year: 7 })
    expect(endpoint('year/<int:year>/')('year/-1/')).toBeNull()
    expect(endpoint('year/<int:year>/')('year/12a/')).toBeNull()
    expect(endpoint('n/<int:n>/')('n/99999999999999999999/')).toBeNull()
  })

  it('slug, uuid and path', () => {
    expect(endpoint('<slug:s>/')('my-post_1/')?.kwargs).toEqual({ s: 'my-post_1' })
    expect(endpoint('<slug:s>/')('my post/')).toBeNull()
    const id = '075194d3-6885-417e-a8a8-6c931e272f00'
    expect(endpoint('<uuid:id>/')(`${id}/`)?.kwargs).toEqual({ id })
    // Django's uuid regex is lower-case only.
    expect(endpoint('<uuid:id>/')(`${id.toUpperCase()}/`)).toBeNull()
    expect(endpoint('<uuid:id>/')('075194d3-6885-417e-a8a8/')).toBeNull()
    expect(endpoint('files/<path:p>')('files/a/b/c.txt')?.kwargs).toEqual({ p: 'a/b/c.txt' })
  })

  it('as a prefix, returns what follows the match', () => {
    expect(prefix('number/<int:number>/')('number/42/test/3/')).toEqual({
      rest: 'test/3/',
      args: [],
      kwargs: { number: 42 },
    })
    expect(endpoint('number/<int:number>/')('number/42/test/3/')).toBeNull()
  })

  it('a converter that throws makes the route not match', () => {
    registerConverter(
      {
        regex: '[a-z]+',
        toPython(value) {
          if (value === 'bad') throw new ValueError('bad value')
          return value.toUpperCase()
        },
      },
      'test-upper',
    )
    const match = endpoint('<test-upper:w>/')
    expect(match('good/')?.kwargs).toEqual({ w: 'GOOD' })
    expect(match('bad/')).toBeNull()
  })

  it('custom converters are registered once, and checked', () => {
    const four = { regex: '[0-9]{4}', toPython: (v: string) => Number(v) }
    registerConverter(four, 'test-yyyy')
    expect(endpoint('<test-yyyy:y>/')('2024/')?.kwargs).toEqual({ y: 2024 })
    expect(endpoint('<test-yyyy:y>/')('24/')).toBeNull()
    expect(() => registerConverter(four, 'test-yyyy')).toThrow(
      new ValueError("Converter 'test-yyyy' is already registered."),
    )
    expect(() => registerConverter(four, 'int')).toThrow(ValueError)
    expect(() => registerConverter({ regex: '[0-9]' } as never, 'test-x')).toThrow(TypeError)
    expect(() => registerConverter(null as never, 'test-x')).toThrow(TypeError)
    expect(() => registerConverter(four, '')).toThrow(TypeError)
    expect(() => registerConverter(four, 'a:b')).toThrow(TypeError)
    expect(() => registerConverter({ regex: '([', toPython: String }, 'test-bad')).toThrow(
      "Converter 'test-bad' has an invalid regex",
    )
  })

  it("rejects bad routes at construction with Django's messages", () => {
    expect(() => new RoutePattern('<int: n>/')).toThrow(
      new ImproperlyConfigured(
        "URL route '<int: n>/' cannot contain whitespace in angle brackets <…>.",
      ),
    )
    expect(() => new RoutePattern('<int:1n>/')).toThrow(
      new ImproperlyConfigured(
        "URL route '<int:1n>/' uses parameter name '1n' which isn't a valid identifier.",
      ),
    )
    expect(() => new RoutePattern('<foo:n>/')).toThrow(
      new ImproperlyConfigured("URL route '<foo:n>/' uses invalid converter 'foo'."),
    )
    expect(() => new RoutePattern('<n>/<int:n>/')).toThrow(
      new ImproperlyConfigured("URL route '<n>/<int:n>/' uses parameter name 'n' more than once."),
    )
    expect(() => new RoutePattern(42 as never)).toThrow(
      new TypeError('path() route must be a string, got a number.'),
    )
  })
})
