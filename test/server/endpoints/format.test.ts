import { describe, expect, it } from 'vitest'
import {
  buildEndpointDescriptionStrings,
  describeEndpoint,
  formatEndpoint,
  parseEndpoint,
  quoteStringArgument,
} from '../../../src/server/endpoints/index.js'
import { endpointLabel } from '../../../src/server/endpoints/format.js'
import type { Endpoint } from '../../../src/server/endpoints/index.js'
import type { BoundAddress } from '../../../src/server/reactor/types.js'

const raw = String.raw

describe('quoteStringArgument (Twisted)', () => {
  it.each([
    ['plain', 'plain'],
    ['::1', raw`\:\:1`],
    [raw`C:\x`, raw`C\:\\x`],
    [raw`\:`, raw`\\\:`],
    ['a=b', 'a=b'],
  ])('%s → %s', (input, expected) => {
    expect(quoteStringArgument(input)).toBe(expected)
  })
})

describe('formatEndpoint', () => {
  const cases: [endpoint: Endpoint, expected: string][] = [
    [{ kind: 'tcp', port: 8000, host: '127.0.0.1' }, 'tcp:port=8000:interface=127.0.0.1'],
    [{ kind: 'tcp', port: 8000, host: '200a::1' }, raw`tcp:port=8000:interface=200a\:\:1`],
    [{ kind: 'tcp', port: 0, host: '' }, 'tcp:port=0'],
    [{ kind: 'tcp', port: 80, host: 'h', backlog: 5 }, 'tcp:port=80:interface=h:backlog=5'],
    [{ kind: 'unix', path: '/tmp/x.sock', mode: 0o666, lockfile: true }, 'unix:/tmp/x.sock'],
    [{ kind: 'unix', path: '/tmp/x.sock', lockfile: true }, 'unix:/tmp/x.sock'],
    [
      { kind: 'unix', path: raw`/a:b=c\d`, mode: 0o600, backlog: 3, lockfile: false },
      raw`unix:/a\:b\=c\\d:mode=600:backlog=3:lockfile=0`,
    ],
    [
      { kind: 'ssl', port: 443, host: '', privateKey: 'k.pem', certKey: 'c.pem' },
      'ssl:port=443:privateKey=k.pem:certKey=c.pem',
    ],
    [
      {
        kind: 'ssl',
        port: 8443,
        host: '::1',
        privateKey: 'C:/k.pem',
        certKey: 'C:/k.pem',
        backlog: 1,
        extraCertChain: 'ch.pem',
        dhParameters: 'dh.pem',
        sslmethod: 'TLS_METHOD',
      },
      raw`ssl:port=8443:privateKey=C\:/k.pem:certKey=C\:/k.pem:interface=\:\:1:backlog=1` +
        ':extraCertChain=ch.pem:dhParameters=dh.pem:sslmethod=TLS_METHOD',
    ],
    [{ kind: 'fd', fileno: 3 }, 'fd:fileno=3'],
    [{ kind: 'fd', fileno: 3, domain: 'INET6' }, 'fd:fileno=3:domain=INET6'],
  ]

  it.each(cases)('%o → %s', (endpoint, expected) => {
    expect(formatEndpoint(endpoint)).toBe(expected)
  })

  it.each([
    'tcp:8000',
    raw`tcp:port=8000:interface=200a\:\:1:backlog=9`,
    'tcp6:8000',
    'unix:/tmp/x.sock',
    raw`unix:path=/a\:b=c:mode=640:lockfile=0:backlog=2`,
    raw`unix:/w\\x\=y`,
    'ssl:443:privateKey=k.pem',
    raw`ssl:443:privateKey=C\:\\k:certKey=c:interface=[\:\:1]:sslmethod=X:dhParameters=d`,
    'fd:fileno=4:domain=unix',
  ])('parse → format → parse round-trips %s', (description) => {
    const endpoint = parseEndpoint(description)
    const canonical = formatEndpoint(endpoint)
    expect(parseEndpoint(canonical)).toEqual(endpoint)
    expect(formatEndpoint(parseEndpoint(canonical))).toBe(canonical)
  })

  it('daphne-built tcp descriptions are already canonical', () => {
    for (const host of ['127.0.0.1', 'example.com', '[200a::1]', '200a::1']) {
      const [built] = buildEndpointDescriptionStrings({ host, port: 8000 })
      expect(formatEndpoint(parseEndpoint(built ?? ''))).toBe(built)
    }
  })
})

describe('describeEndpoint', () => {
  const cases: [target: Endpoint | BoundAddress, expected: string][] = [
    [{ kind: 'tcp', host: '127.0.0.1', port: 8000 }, 'http://127.0.0.1:8000/'],
    [{ kind: 'tcp', host: 'localhost', port: 80 }, 'http://localhost:80/'],
    [{ kind: 'tcp', host: '::1', port: 8000 }, 'http://[::1]:8000/'],
    [{ kind: 'tcp', host: '::', port: 8000 }, 'http://[::]:8000/'],
    [{ kind: 'tcp', host: '', port: 8000 }, 'http://0.0.0.0:8000/'],
    // Daphne's runserver prints `http://0:8000/` for `0:8000`; we show the address it binds.
    [{ kind: 'tcp', host: '0', port: 8000 }, 'http://0.0.0.0:8000/'],
    [{ kind: 'ssl', host: '::1', port: 8443 }, 'https://[::1]:8443/'],
    [
      { kind: 'ssl', host: '127.0.0.1', port: 443, privateKey: 'k', certKey: 'k' },
      'https://127.0.0.1:443/',
    ],
    [{ kind: 'unix', path: '/tmp/x.sock', lockfile: true }, 'http+unix:///tmp/x.sock'],
    [{ kind: 'unix', path: '/tmp/x.sock' }, 'http+unix:///tmp/x.sock'],
    [{ kind: 'fd', fileno: 3 }, 'fd://3'],
  ]

  it.each(cases)('%o → %s', (target, expected) => {
    expect(describeEndpoint(target)).toBe(expected)
  })
})

describe('endpointLabel (what a listen error names)', () => {
  it.each([
    [{ kind: 'tcp', host: '127.0.0.1', port: 8000 }, 'tcp:127.0.0.1:8000'],
    [{ kind: 'tcp', host: '', port: 8000 }, 'tcp:*:8000'],
    [{ kind: 'ssl', host: '::1', port: 8443, privateKey: 'k', certKey: 'k' }, 'ssl:[::1]:8443'],
    [{ kind: 'unix', path: '/tmp/x.sock', lockfile: true }, 'unix:/tmp/x.sock'],
    [{ kind: 'fd', fileno: 3 }, 'fd:3'],
  ] satisfies [Endpoint, string][])('%o → %s', (endpoint, expected) => {
    expect(endpointLabel(endpoint)).toBe(expected)
  })
})
