/**
 * ALLOWED_HOSTS for HTTP (Django's get_host / validate_host rules, from Django's
 * requests_tests), then over real sockets on every reactor: a disallowed Host gets 400, an
 * allowed one reaches the app, WebSocket handshakes are left to the Origin check.
 */
import { describe, expect, it } from 'vitest'
import type { Receive, Scope, Send } from '../../../src/framework/asgi/types.js'
import { AsyncWebsocketConsumer } from '../../../src/framework/consumers/index.js'
import {
  AllowedHostsMiddleware,
  requestHost,
  splitDomainPort,
  validateHost,
} from '../../../src/framework/middleware/allowed-hosts.js'
import { AllowedHostsOriginValidator } from '../../../src/framework/middleware/origin.js'
import { ProtocolTypeRouter } from '../../../src/framework/routing/index.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { HttpCommunicator } from '../../../src/framework/testing/http-communicator.js'
import { REACTORS, useLogRecords, useServers } from '../../helpers/with-server.js'
import { connectRaw, handshakeRequest, rawExchange } from '../../helpers/ws-client.js'

// Django's test_http_get_host, with USE_X_FORWARDED_HOST off.
const DJANGO_ALLOWED = [
  'forward.com',
  'example.com',
  'internal.com',
  '12.34.56.78',
  '[2001:19f0:feee::dead:beef:cafe]',
  'xn--4ca9at.com',
  '.multitenant.com',
  'INSENSITIVE.com',
  '[::ffff:169.254.169.254]',
]
const LEGIT = [
  'example.com',
  'example.com:80',
  '12.34.56.78',
  '12.34.56.78:443',
  '[2001:19f0:feee::dead:beef:cafe]',
  '[2001:19f0:feee::dead:beef:cafe]:8080',
  'xn--4ca9at.com',
  'anything.multitenant.com',
  'multitenant.com',
  'insensitive.com',
  'example.com.',
  'example.com.:80',
  '[::ffff:169.254.169.254]',
]
const POISONED = [
  'example.com@evil.tld',
  'example.com:dr.frankenstein@evil.tld',
  'example.com:dr.frankenstein@evil.tld:80',
  'example.com:80/badpath',
  'example.com: recovermypassword.com',
  'other.com',
  'evil.multitenant.com.evil.tld',
  'example.com,example.com',
  '',
]

function allowed(host: string, hosts: readonly string[]): boolean {
  const [domain] = splitDomainPort(host)
  return domain !== '' && validateHost(domain, hosts)
}

/** A raw GET with exactly this Host header; the whole response as text. */
async function get(port: number, host: string): Promise<string> {
  const request = `GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`
  return (await rawExchange(port, request)).toString('latin1')
}

async function app(scope: Scope, receive: Receive, send: Send): Promise<void> {
  await receive()
  await send({ type: 'http.response.start', status: 200, headers: [] })
  await send({ type: 'http.response.body', body: Buffer.from(`app:${String(scope.path)}`) })
}

describe("Django's host rules", () => {
  it('test_http_get_host: legitimate and poisoned hosts', () => {
    for (const host of LEGIT) expect(allowed(host, DJANGO_ALLOWED), host).toBe(true)
    for (const host of POISONED) expect(allowed(host, DJANGO_ALLOWED), host).toBe(false)
  })

  it("'*' allows any valid host, never an invalid one", () => {
    expect(allowed('anything.example', ['*'])).toBe(true)
    expect(allowed('example.com@evil.tld', ['*'])).toBe(false)
  })

  it('split_domain_port', () => {
    expect(splitDomainPort('Example.COM:8000')).toEqual(['example.com', '8000'])
    expect(splitDomainPort('[::1]:8000')).toEqual(['[::1]', '8000'])
    expect(splitDomainPort('example.com.')).toEqual(['example.com', ''])
    expect(splitDomainPort('bad host')).toEqual(['', ''])
  })

  it('without a Host header: the server address (port kept unless the default)', () => {
    const scope = { type: 'http', scheme: 'http', headers: [], server: ['10.0.0.1', 8000] }
    expect(requestHost(scope as never)).toBe('10.0.0.1:8000')
    expect(requestHost({ ...scope, server: ['10.0.0.1', 80] } as never)).toBe('10.0.0.1')
  })

  it('test_host_validation_in_debug_mode: DEBUG and no hosts allow localhost variants only', async () => {
    const middleware = new AllowedHostsMiddleware(app, { allowedHosts: [], debug: true })
    for (const host of ['localhost', 'sub.localhost', '127.0.0.1', '[::1]', 'localhost:8000']) {
      const communicator = new HttpCommunicator(middleware, 'GET', '/', {
        headers: [['host', host]],
      })
      expect((await communicator.getResponse()).status, host).toBe(200)
    }
    const evil = new HttpCommunicator(middleware, 'GET', '/', {
      headers: [['host', 'example.com']],
    })
    expect((await evil.getResponse()).status).toBe(400)
  })

  it('reads ALLOWED_HOSTS and DEBUG from the settings by default', async () => {
    const middleware = overrideSettings(
      { DEBUG: false, ALLOWED_HOSTS: ['example.com'] },
      () => new AllowedHostsMiddleware(app),
    )
    expect(middleware.allowedHosts).toEqual(['example.com'])
    const empty = overrideSettings(
      { DEBUG: false, ALLOWED_HOSTS: [] },
      () => new AllowedHostsMiddleware(app),
    )
    expect(empty.allowedHosts).toEqual([])
    expect(() => new AllowedHostsMiddleware(app, { allowedHosts: 'x' as never })).toThrow(
      /ALLOWED_HOSTS must be a list/,
    )
  })
})

class Echo extends AsyncWebsocketConsumer {
  override async receive(textData?: string): Promise<void> {
    await this.send({ textData: textData ?? '' })
  }
}

describe.each(REACTORS)('ALLOWED_HOSTS over HTTP on the %s reactor', (reactor) => {
  const start = useServers()
  const logs = useLogRecords()

  function application() {
    return new AllowedHostsMiddleware(
      new ProtocolTypeRouter({
        http: app,
        websocket: overrideSettings({ DEBUG: false, ALLOWED_HOSTS: ['example.com'] }, () =>
          AllowedHostsOriginValidator(Echo.asAsgi()),
        ),
      }),
      { allowedHosts: ['example.com', '.example.org'], debug: false },
    )
  }

  it('Host: evil.com gets 400 "Bad Request (400)" and a DisallowedHost log line', async () => {
    const { port } = await start(application(), { reactor })
    const response = await get(port, 'evil.com')
    expect(response).toMatch(/^HTTP\/1\.1 400 /)
    expect(response).toContain('<h1>Bad Request (400)</h1>')
    expect(logs).toContainEqual({
      level: 'warn',
      logger: 'channels.security.DisallowedHost',
      message:
        "Invalid HTTP_HOST header: 'evil.com'. You may need to add 'evil.com' to ALLOWED_HOSTS.",
    })
  })

  it('allowed hosts (any port, subdomains of .example.org) reach the application', async () => {
    const { port } = await start(application(), { reactor })
    for (const host of ['example.com', 'example.com:8000', 'www.example.org', 'example.org']) {
      const response = await get(port, host)
      expect(response, host).toMatch(/^HTTP\/1\.1 200 /)
      expect(response).toMatch(/app:\/x$/)
    }
    for (const host of ['evil.com', 'example.com.evil.com', 'www.example.com']) {
      const response = await get(port, host)
      expect(response, host).toMatch(/^HTTP\/1\.1 400 /)
    }
  })

  it('a refused POST does not read its body: the answer says Connection: close', async () => {
    const { port } = await start(application(), { reactor })
    const connection = await connectRaw(port)
    connection.write('POST / HTTP/1.1\r\nHost: evil.com\r\nContent-Length: 100000000\r\n\r\n')
    connection.write(Buffer.alloc(64 * 1024))
    const response = (await connection.until((data) => data.includes('</html>'))).toString()
    expect(response).toMatch(/^HTTP\/1\.1 400 /)
    expect(response).toMatch(/connection: close/i)
    connection.destroy()
  })

  it('WebSocket handshakes are unchanged: the Origin check decides, not Host', async () => {
    const { port } = await start(application(), { reactor })
    const accepted = await connectRaw(port)
    accepted.write(handshakeRequest('/ws/').replace('Host: 127.0.0.1', 'Host: evil.com'))
    const head = (data: Buffer) => data.includes('\r\n\r\n')
    expect((await accepted.until(head)).toString()).toMatch(/^HTTP\/1\.1 101 /)
    accepted.destroy()
    const refused = await connectRaw(port)
    refused.write(
      handshakeRequest('/ws/', { Origin: 'http://evil.com' }).replace(
        'Origin: http://example.com\r\n',
        '',
      ),
    )
    expect((await refused.until(head)).toString()).toMatch(/^HTTP\/1\.1 403 /)
    refused.destroy()
  })
})
