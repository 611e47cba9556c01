import { describe, expect, it } from 'vitest'
import { binaryName, UwsReactor } from '../../../src/server/reactor/uws.js'
import { runReactorContract } from './contract.js'
import { OPTIONS } from './harness.js'

runReactorContract('uws', (options) => new UwsReactor(options))

describe('UwsReactor', () => {
  it('runs on the native binary and says so', () => {
    const reactor = new UwsReactor(OPTIONS)
    expect(reactor.native).toBe(true)
    expect(reactor.engine).toBe(`uWebSockets.js 20.30.0 (native, ${binaryName()})`)
  })

  it('rejects an fd endpoint with a clear error', async () => {
    const reactor = new UwsReactor(OPTIONS)
    await expect(
      reactor.listen({ kind: 'fd', fileno: 3 }, { onRequest() {}, onUpgrade() {} }),
    ).rejects.toThrow('uWebSockets.js cannot adopt a file descriptor; use --reactor node')
  })
})
