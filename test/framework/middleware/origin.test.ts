import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ValueError } from '../../../src/framework/asgi/errors.js'
import {
  setLogHandler,
  type LogHandler,
  type LogRecord,
} from '../../../src/framework/asgi/logging.js'
import type { AnyApplication } from '../../../src/framework/asgi/types.js'
import { AsyncWebsocketConsumer } from '../../../src/framework/consumers/index.js'
import {
  isSameDomain,
  originAllowed,
  parseOrigin,
} from '../../../src/framework/middleware/origin-match.js'
import {
  AllowedHostsOriginValidator,
  OriginValidator,
} from '../../../src/framework/middleware/origin.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { HttpCommunicator, WebsocketCommunicator } from '../../../src/framework/testing/index.js'

let records: LogRecord[]
let previousHandler: LogHandler
beforeEach(() => {
  records = []
  previousHandler = setLogHandler((r) => records.push(r))
})
afterEach(() => {
  setLogHandler(previousHandler)
})

async function connects(app: AnyApplication, origin?: string): Promise<boolean> {
  const headers: [string, string][] = origin === undefined ? [] : [['origin', origin]]
  const communicator = new WebsocketCommunicator(app, '/', { headers })
  const [connected] = await communicator.connect()
  await communicator.disconnect()
  return connected
}

const consumer = () => AsyncWebsocketConsumer.asAsgi()

describe('OriginValidator', () => {
  it('test_origin_validator', async () => {
    let application = new OriginValidator(consumer(), ['allowed-domain.com'])
    expect(await connects(application, 'http://allowed-domain.com')).toBe(true)
    expect(await connects(application, 'http://bad-domain.com')).toBe(false)
    // Bad pattern: not a wildcard.
    application = new OriginValidator(consumer(), ['*.allowed-domain.com'])
    expect(await connects(application, 'http://allowed-domain.com')).toBe(false)
    // Good pattern: leading dot.
    application = new OriginValidator(consumer(), ['.allowed-domain.com'])
    expect(await connects(application, 'http://www.allowed-domain.com')).toBe(true)
    // scheme://domain[:port]
    application = new OriginValidator(consumer(), ['http://allowed-domain.com'])
    expect(await connects(application, 'http://allowed-domain.com')).toBe(true)
    expect(await connects(application, 'https://bad-domain.com:443')).toBe(false)
    // All hosts allowed, no Origin header.
    application = new OriginValidator(consumer(), ['*'])
    expect(await connects(application)).toBe(true)
    // No hosts allowed, no Origin header.
    application = new OriginValidator(consumer(), [])
    expect(await connects(application)).toBe(false)
    // Subdomain pattern with an empty and with an invalid Origin.
    application = new OriginValidator(consumer(), ['.allowed-domain.com'])
    expect(await connects(application, '')).toBe(false)
    expect(await connects(application, 'something-invalid')).toBe(false)
  })

  it('rejects with a close before accept (a 403 from the server) and logs why (#2062)', async () => {
    const application = new OriginValidator(consumer(), ['allowed-domain.com'])
    const communicator = new WebsocketCommunicator(application, '/ws/chat/lobby/', {
      headers: [['origin', 'http://evil.com']],
    })
    expect(await communicator.connect()).toEqual([false, 1000])
    await communicator.wait()
    expect(records).toEqual([
      {
        level: 'warn',
        logger: 'channels.security',
        message:
          "WebSocket origin rejected: 'http://evil.com' is not in allowed origins ['allowed-domain.com'] (path /ws/chat/lobby/)",
      },
    ])
  })

  it('logs missing and unparsable origins distinctly', async () => {
    const application = new OriginValidator(consumer(), ['a.com'])
    await connects(application)
    await connects(application, 'null')
    expect(records.map((r) => r.message)).toEqual([
      "WebSocket origin rejected: no Origin header and allowed origins ['a.com'] does not contain '*' (path /)",
      `WebSocket origin rejected: "null" is not a valid origin (allowed origins ['a.com']) (path /)`,
    ])
  })

  it('logs nothing for allowed origins', async () => {
    await connects(new OriginValidator(consumer(), ['a.com']), 'https://a.com')
    expect(records).toEqual([])
  })

  it('uses the last Origin header, as Channels does', async () => {
    const app = new OriginValidator(consumer(), ['good.com'])
    const communicator = new WebsocketCommunicator(app, '/', {
      headers: [
        ['origin', 'http://evil.com'],
        ['origin', 'http://good.com'],
      ],
    })
    expect((await communicator.connect())[0]).toBe(true)
    await communicator.disconnect()
  })

  it('raises ValueError for a non-WebSocket scope', async () => {
    const communicator = new HttpCommunicator(new OriginValidator(consumer(), ['*']), 'GET', '/')
    await expect(communicator.getResponse()).rejects.toThrow(ValueError)
    await expect(communicator.wait()).rejects.toThrow(
      'You cannot use OriginValidator on a non-WebSocket connection',
    )
  })

  it('refuses a non-array list', () => {
    expect(() => new OriginValidator(consumer(), 'a.com' as unknown as string[])).toThrow(TypeError)
  })
})

describe('origin matching rules', () => {
  const cases: [patterns: string[], origin: string | null, allowed: boolean][] = [
    [['example.com'], 'http://example.com', true],
    [['example.com'], 'https://EXAMPLE.com:8443', true], // scheme-less: port ignored
    [['Example.COM'], 'http://example.com', true],
    [['example.com'], 'http://www.example.com', false],
    [['.example.com'], 'http://example.com', true],
    [['.example.com'], 'http://a.b.example.com', true],
    [['.example.com'], 'http://badexample.com', false],
    [['*.example.com'], 'http://www.example.com', false],
    [['localhost:8000'], 'http://localhost:3000', true], // scheme-less host:port: port ignored
    [['http://example.com'], 'http://example.com:80', true],
    [['http://example.com'], 'http://example.com:8080', false],
    [['http://example.com'], 'https://example.com', false],
    [['https://example.com'], 'https://example.com:443', true],
    [['ws://example.com'], 'ws://example.com', true],
    [['wss://example.com:8443'], 'wss://example.com:8443', true],
    [['http://.example.com'], 'http://sub.example.com', true],
    [['foo://example.com'], 'foo://example.com', true], // no default port on either side
    [['[::1]'], 'http://[::1]:8000', true],
    [['127.0.0.1'], 'http://127.0.0.1:8000', true],
    [['example.com'], 'http://user:pw@example.com', true],
    [['*'], null, true],
    [['*'], 'garbage', true],
    [['example.com'], null, false],
    [['example.com'], 'null', false],
    [['example.com'], 'http://example.com:99999', false],
    [['example.com'], 'http://example.com:abc', false],
    [['example.com'], 'http://[::1', false],
    [['example.com'], '//example.com', false],
    [[], 'http://example.com', false],
  ]
  it.each(cases)('%j allows %j: %s', (patterns, origin, allowed) => {
    const parsed = origin === null ? null : parseOrigin(origin)
    expect(originAllowed(parsed, patterns)).toBe(allowed)
  })

  it('isSameDomain follows Django', () => {
    expect(isSameDomain('example.com', '')).toBe(false)
    expect(isSameDomain('foo.example.com', '.example.com')).toBe(true)
    expect(isSameDomain('example.com', '.example.com')).toBe(true)
    expect(isSameDomain('example.com', 'example.com')).toBe(true)
  })
})

describe('AllowedHostsOriginValidator', () => {
  it('reads ALLOWED_HOSTS at construction', async () => {
    const app = overrideSettings({ ALLOWED_HOSTS: ['.example.com'] }, () =>
      AllowedHostsOriginValidator(consumer()),
    )
    // Settings changed back after construction: the list is kept.
    expect(app.allowedOrigins).toEqual(['.example.com'])
    expect(await connects(app, 'https://www.example.com')).toBe(true)
    expect(await connects(app, 'https://evil.com')).toBe(false)
    expect(records.at(-1)!.message).toBe(
      "WebSocket origin rejected: 'https://evil.com' is not in ALLOWED_HOSTS ['.example.com'] (path /)",
    )
  })

  it('allows localhost, 127.0.0.1 and [::1] in DEBUG with empty ALLOWED_HOSTS', async () => {
    const app = overrideSettings({ DEBUG: true, ALLOWED_HOSTS: [] }, () =>
      AllowedHostsOriginValidator(consumer()),
    )
    expect(app.allowedOrigins).toEqual(['localhost', '127.0.0.1', '[::1]'])
    expect(await connects(app, 'http://localhost:8000')).toBe(true)
    expect(await connects(app, 'http://[::1]:8000')).toBe(true)
    expect(await connects(app, 'http://example.com')).toBe(false)
  })

  it('allows nothing without DEBUG and with empty ALLOWED_HOSTS', async () => {
    const app = overrideSettings({ DEBUG: false, ALLOWED_HOSTS: [] }, () =>
      AllowedHostsOriginValidator(consumer()),
    )
    expect(await connects(app, 'http://localhost')).toBe(false)
  })
})
