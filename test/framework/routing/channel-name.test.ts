import { describe, expect, it } from 'vitest'
import { ValueError } from '../../../src/framework/asgi/errors.js'
import { ChannelNameRouter } from '../../../src/framework/routing/index.js'
import { call, mockApplication } from './helpers.js'

describe('ChannelNameRouter', () => {
  it('test_channel_name_router', async () => {
    const router = new ChannelNameRouter({
      test: mockApplication(1),
      other_test: mockApplication(2),
    })
    expect(await call(router, { channel: 'test' })).toBe(1)
    expect(await call(router, { channel: 'other_test' })).toBe(2)
    // An unmatched channel
    await expect(call(router, { channel: 'chat' })).rejects.toThrow(
      new ValueError("No application configured for channel name 'chat'"),
    )
    // A scope with no channel
    await expect(call(router, { type: 'http' })).rejects.toThrow(
      new ValueError(
        "ChannelNameRouter got a scope without a 'channel' key. " +
          "Did you make sure it's only being used for 'channel' type messages?",
      ),
    )
  })

  it('is an instance of its class and exposes its mapping', () => {
    const app = mockApplication(1)
    const router = new ChannelNameRouter({ test: app })
    expect(router).toBeInstanceOf(ChannelNameRouter)
    expect(router.applicationMapping.test).toBe(app)
  })

  it('never routes to Object.prototype members', async () => {
    const router = new ChannelNameRouter({ test: mockApplication(1) })
    await expect(call(router, { channel: 'constructor' })).rejects.toBeInstanceOf(ValueError)
  })

  it('rejects bad mappings at construction', () => {
    expect(() => new ChannelNameRouter(null as never)).toThrow(TypeError)
    expect(() => new ChannelNameRouter({ test: 42 as never })).toThrow(
      "ChannelNameRouter: the application for channel name 'test' must be an ASGI application",
    )
  })
})
