import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ScopeCopier } from '../../../src/framework/asgi/scope-copy.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

function wsScope(path: string): Record<string, unknown> {
  return { type: 'websocket', path, headers: [], client: ['127.0.0.1', 1], subprotocols: [] }
}

describe('ScopeCopier', () => {
  it('copies like Object.assign, then sets the added keys in order', () => {
    const copier = new ScopeCopier(['path_remaining', 'url_route'])
    for (let i = 0; i < 3; i++) {
      // The first copy teaches the copier the shape; the next ones use the compiled literal.
      const scope = wsScope(`/ws/${i}/`)
      const copy = copier.copy(scope, '', { args: [], kwargs: { i } })
      expect(copy).not.toBe(scope)
      expect(copy).toEqual({ ...scope, path_remaining: '', url_route: { args: [], kwargs: { i } } })
      expect(Object.keys(copy)).toEqual([...Object.keys(scope), 'path_remaining', 'url_route'])
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
      // Shallow: values are shared, and the source is untouched.
      expect(copy.headers).toBe(scope.headers)
      expect('url_route' in scope).toBe(false)
    }
  })

  it('keeps the position of a key the scope already has, with the new value', () => {
    const copier = new ScopeCopier(['user'])
    for (let i = 0; i < 3; i++) {
      const copy = copier.copy({ type: 'websocket', user: 'old', path: '/' }, `new${i}`)
      expect(Object.entries(copy)).toEqual([
        ['type', 'websocket'],
        ['user', `new${i}`],
        ['path', '/'],
      ])
    }
  })

  it('follows a change of shape, and goes back to shapes it knows', () => {
    const copier = new ScopeCopier(['cookies'])
    const shapes = [
      wsScope('/a/'),
      { type: 'http', method: 'GET', path: '/b/' },
      { ...wsScope('/c/'), extra: 1 },
      wsScope('/d/'),
      { type: 'http', method: 'GET', path: '/e/' },
    ]
    for (let round = 0; round < 3; round++) {
      for (const scope of shapes) {
        expect(copier.copy(scope, { round })).toEqual({ ...scope, cookies: { round } })
      }
    }
  })

  it('stays right past the shapes it remembers and the compilations it allows', () => {
    const copier = new ScopeCopier([])
    for (let i = 0; i < 60; i++) {
      const scope: Record<string, unknown> = { type: 'websocket' }
      for (let k = 0; k <= i % 30; k++) scope[`key${k}`] = k
      expect(copier.copy(scope)).toEqual(scope)
    }
  })

  it('reads accessors once, as Object.assign does, and copies their values', () => {
    const copier = new ScopeCopier([])
    for (let i = 0; i < 3; i++) {
      let reads = 0
      const scope = {
        type: 'websocket',
        get path() {
          reads++
          return `/p/${i}/`
        },
      }
      const copy = copier.copy(scope)
      expect(reads).toBe(1)
      expect(Object.getOwnPropertyDescriptor(copy, 'path')).toMatchObject({ value: `/p/${i}/` })
    }
  })

  it('copies own string keys only: not inherited ones, not symbols, not non-enumerable ones', () => {
    const copier = new ScopeCopier([])
    const hidden = Symbol('hidden')
    for (let i = 0; i < 3; i++) {
      const base = Object.create({ inherited: true }) as Record<string | symbol, unknown>
      base.type = 'websocket'
      base.path = '/'
      base[hidden] = i
      Object.defineProperty(base, 'secret', { value: i, enumerable: false })
      const copy = copier.copy(base)
      expect(Reflect.ownKeys(copy)).toEqual(['type', 'path'])
      // A prototype-less scope copies its keys too.
      const bare = Object.assign(Object.create(null) as object, { type: 'websocket', n: i })
      expect(copier.copy(bare)).toEqual({ type: 'websocket', n: i })
    }
  })

  it('treats an own __proto__ key as Object.assign does (it sets the prototype)', () => {
    const copier = new ScopeCopier([])
    const proto = { marker: true }
    for (let i = 0; i < 3; i++) {
      const scope: Record<string, unknown> = { type: 'websocket' }
      Object.defineProperty(scope, '__proto__', { value: proto, enumerable: true })
      const copy = copier.copy(scope)
      expect(Object.getPrototypeOf(copy)).toBe(Object.getPrototypeOf(Object.assign({}, scope)))
      expect(Object.getPrototypeOf(copy)).toBe(proto)
    }
  })

  it('refuses more than three added keys, and __proto__', () => {
    expect(() => new ScopeCopier(['a', 'b', 'c', 'd'])).toThrow(RangeError)
    expect(() => new ScopeCopier(['__proto__'])).toThrow(RangeError)
  })

  it('works without code generation from strings (node --disallow-code-generation-from-strings)', () => {
    const module = join(ROOT, 'dist/src/framework/asgi/scope-copy.js')
    if (!existsSync(module))
      throw new Error('npm run build did not produce dist/src/framework/asgi/scope-copy.js')
    const script = `
      const { ScopeCopier } = await import(${JSON.stringify(module)})
      const copier = new ScopeCopier(['user'])
      const copies = [1, 2, 3].map((i) => copier.copy({ type: 'websocket', path: '/' + i }, i))
      console.log(JSON.stringify(copies))`
    const output = execFileSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    )
    expect(JSON.parse(output)).toEqual(
      [1, 2, 3].map((i) => ({ type: 'websocket', path: `/${i}`, user: i })),
    )
  })
})
