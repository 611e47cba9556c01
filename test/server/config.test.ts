import { describe, expect, it } from 'vitest'
import { resolveServerConfig, sweepInterval } from '../../src/server/config.js'

describe('resolveServerConfig', () => {
  it('fills in Daphne Server() defaults, in milliseconds', () => {
    const config = resolveServerConfig()
    expect(config).toMatchObject({
      reactor: 'auto',
      httpTimeout: null,
      websocketTimeout: 86_400_000,
      websocketConnectTimeout: 20_000,
      websocketHandshakeTimeout: 5_000,
      pingInterval: 20_000,
      pingTimeout: 30_000,
      applicationCloseTimeout: 10_000,
      websocketMaxMessageSize: 1024 * 1024,
      rootPath: '',
      proxyHeaders: null,
      serverName: 'channels-ts',
      lifespan: 'auto',
      signalHandlers: false,
      onAction: null,
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('treats a negative or null websocketTimeout as never', () => {
    expect(resolveServerConfig({ websocketTimeout: -1 }).websocketTimeout).toBeNull()
    expect(resolveServerConfig({ websocketTimeout: null }).websocketTimeout).toBeNull()
  })

  it('resolves proxy header names, lower-cased, with X-Forwarded-* defaults', () => {
    expect(resolveServerConfig({ proxyHeaders: true }).proxyHeaders).toEqual({
      address: 'x-forwarded-for',
      port: 'x-forwarded-port',
      proto: 'x-forwarded-proto',
    })
    expect(
      resolveServerConfig({ proxyHeaders: { address: 'X-Real-IP' } }).proxyHeaders?.address,
    ).toBe('x-real-ip')
  })

  it('limits send buffers: 8 MiB per WebSocket, 256 MiB in all, 5 s to close; 0 = unlimited', () => {
    expect(resolveServerConfig()).toMatchObject({
      websocketMaxBufferedBytes: 8 * 1024 * 1024,
      websocketBufferBudget: 256 * 1024 * 1024,
      websocketCloseTimeout: 5_000,
    })
    const set = resolveServerConfig({ websocketMaxBufferedBytes: 0, websocketBufferBudget: 4096 })
    expect([set.websocketMaxBufferedBytes, set.websocketBufferBudget]).toEqual([0, 4096])
    expect(() => resolveServerConfig({ websocketBufferBudget: -1 })).toThrow(/bytes/)
    expect(() => resolveServerConfig({ websocketMaxBufferedBytes: 1.5 })).toThrow(/bytes/)
    expect(() => resolveServerConfig({ websocketCloseTimeout: -1 })).toThrow(/milliseconds/)
  })

  it('keeps an empty serverName (no Server header)', () => {
    expect(resolveServerConfig({ serverName: '' }).serverName).toBe('')
  })

  it('rejects nonsense', () => {
    expect(() => resolveServerConfig({ pingInterval: -5 })).toThrow(TypeError)
    expect(() => resolveServerConfig({ lifespan: 'maybe' as 'on' })).toThrow(/lifespan/)
    expect(() => resolveServerConfig({ reactor: 'twisted' as 'uws' })).toThrow(/reactor/)
  })

  it('sweeps every 2 s by default and faster for short timeouts', () => {
    expect(sweepInterval(resolveServerConfig())).toBe(1250)
    expect(
      sweepInterval(
        resolveServerConfig({ websocketHandshakeTimeout: 60_000, websocketConnectTimeout: 60_000 }),
      ),
    ).toBe(2000)
    expect(sweepInterval(resolveServerConfig({ pingInterval: 200, pingTimeout: 200 }))).toBe(50)
  })
})
