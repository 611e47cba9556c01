import { describe, expect, it } from 'vitest'
import { createReactor, REACTORS } from '../../../src/server/reactor/index.js'
import { NodeReactor } from '../../../src/server/reactor/node.js'
import { binaryName, loadUws, UwsReactor } from '../../../src/server/reactor/uws.js'
import { OPTIONS } from './harness.js'

/** A module loader for `loadUws` where the native binary fails to load. */
function withoutBinary(id: string): unknown {
  if (id.includes('/binaries/')) throw new Error(`Cannot find module '${id}'\nRequire stack: …`)
  if (id.endsWith('package.json')) return { version: '20.30.0-unofficial.0' }
  return { App() {}, fallback: true }
}

describe('createReactor', () => {
  it('lists both reactors lazily', async () => {
    expect(Object.keys(REACTORS).sort()).toEqual(['node', 'uws'])
    expect((await REACTORS.node())(OPTIONS)).toBeInstanceOf(NodeReactor)
    expect((await REACTORS.uws())(OPTIONS)).toBeInstanceOf(UwsReactor)
  })

  it('auto picks uWS when its native binary loaded, without a warning', async () => {
    const { reactor, warning } = await createReactor('auto', OPTIONS)
    expect(reactor.name).toBe('uws')
    expect(reactor.engine).toContain('(native, ')
    expect(warning).toBeUndefined()
  })

  it('auto falls back to node with a warning when uWS is on its JS fallback', async () => {
    const { reactor, warning } = await createReactor('auto', OPTIONS, {
      loadUws: () => loadUws(withoutBinary),
    })
    expect(reactor).toBeInstanceOf(NodeReactor)
    expect(warning).toMatch(
      /^uWebSockets\.js native binary unavailable \(Cannot find module .*\); using the node reactor \(node:http \+ ws/,
    )
  })

  it('auto falls back to node when loading uWS throws', async () => {
    const { reactor, warning } = await createReactor('auto', OPTIONS, {
      loadUws: () => {
        throw new Error('boom')
      },
    })
    expect(reactor.name).toBe('node')
    expect(warning).toContain('(boom)')
  })

  it('honours an explicit name', async () => {
    expect((await createReactor('node', OPTIONS)).reactor.name).toBe('node')
    expect((await createReactor('uws', OPTIONS)).reactor.name).toBe('uws')
  })

  it('warns when an explicit uws runs on the JS fallback', async () => {
    const { reactor, warning } = await createReactor('uws', OPTIONS, {
      loadUws: () => loadUws(withoutBinary),
    })
    expect(reactor.engine).toBe('uWebSockets.js 20.30.0 (JS fallback)')
    expect(warning).toBe(
      'uWebSockets.js is running on its JS fallback (uWebSockets.js 20.30.0 (JS fallback))',
    )
    expect((await createReactor('uws', OPTIONS)).warning).toBeUndefined()
  })

  it('rejects an unknown name', async () => {
    await expect(createReactor('twisted' as 'node', OPTIONS)).rejects.toThrow(TypeError)
    await expect(createReactor('toString' as 'node', OPTIONS)).rejects.toThrow(
      /Unknown reactor 'toString'/,
    )
  })
})

describe('loadUws', () => {
  it('reports the native binary it loaded', () => {
    const loaded = loadUws()
    expect(loaded.native).toBe(true)
    expect(loaded.engine).toBe(`uWebSockets.js 20.30.0 (native, ${binaryName()})`)
  })

  it('says "JS fallback" when the binary does not load', () => {
    const loaded = loadUws(withoutBinary)
    expect(loaded).toMatchObject({ native: false, engine: 'uWebSockets.js 20.30.0 (JS fallback)' })
    expect(loaded.reason).toMatch(/^Cannot find module/)
  })

  it('says "JS fallback" when the package main is not the binary (UWS_USE_FALLBACK)', () => {
    const binary = { App() {} }
    const fallback = { App() {} }
    const loaded = loadUws((id) =>
      id.includes('/binaries/')
        ? binary
        : id.endsWith('package.json')
          ? { version: '20.30.0' }
          : fallback,
    )
    expect(loaded.native).toBe(false)
    expect(loaded.uws).toBe(fallback)
    expect(loaded.engine).toBe('uWebSockets.js 20.30.0 (JS fallback)')
  })

  it('refuses TLS on the JS fallback with a clear error', async () => {
    const reactor = new UwsReactor(OPTIONS, loadUws(withoutBinary))
    await expect(
      reactor.listen(
        { kind: 'ssl', host: '127.0.0.1', port: 0, privateKey: 'k.pem', certKey: 'c.pem' },
        { onRequest() {}, onUpgrade() {} },
      ),
    ).rejects.toThrow(/\(JS fallback\) has no TLS; use --reactor node/)
  })
})
