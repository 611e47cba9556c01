import { describe, expect, it } from 'vitest'
import { EndpointSyntaxError } from '../../../src/framework/asgi/errors.js'
import { parseEndpoint } from '../../../src/server/endpoints/index.js'
import type { Endpoint } from '../../../src/server/endpoints/index.js'

const raw = String.raw
/** A unix endpoint with Twisted's defaults filled in. */
const unix = (path: string, extra: object = {}): Endpoint => ({
  kind: 'unix',
  path,
  mode: 0o666,
  lockfile: true,
  ...extra,
})
const ssl = (port: number, privateKey: string, certKey = privateKey): Endpoint => ({
  kind: 'ssl',
  port,
  host: '',
  privateKey,
  certKey,
})

describe('parseEndpoint: every accepted form', () => {
  const cases: [description: string, expected: Endpoint][] = [
    // tcp
    ['tcp:8000', { kind: 'tcp', port: 8000, host: '' }],
    ['tcp:port=8000', { kind: 'tcp', port: 8000, host: '' }],
    ['tcp:port=8000:interface=127.0.0.1', { kind: 'tcp', port: 8000, host: '127.0.0.1' }],
    [
      'tcp:8000:interface=127.0.0.1:backlog=10',
      { kind: 'tcp', port: 8000, host: '127.0.0.1', backlog: 10 },
    ],
    ['tcp:interface=0.0.0.0:port=80', { kind: 'tcp', port: 80, host: '0.0.0.0' }],
    // Positional arguments follow Twisted's _parseTCP(port, interface, backlog).
    ['tcp:80:localhost:5', { kind: 'tcp', port: 80, host: 'localhost', backlog: 5 }],
    ['tcp:80:', { kind: 'tcp', port: 80, host: '' }],
    ['tcp:0', { kind: 'tcp', port: 0, host: '' }],
    ['tcp:65535', { kind: 'tcp', port: 65535, host: '' }],
    ['tcp:0080', { kind: 'tcp', port: 80, host: '' }],
    ['TCP:8000', { kind: 'tcp', port: 8000, host: '' }],
    [raw`tcp:port=8000:interface=200a\:\:1`, { kind: 'tcp', port: 8000, host: '200a::1' }],
    [raw`tcp:port=8000:interface=[\:\:1]`, { kind: 'tcp', port: 8000, host: '::1' }],
    ['tcp:port=8000:interface=a=b', { kind: 'tcp', port: 8000, host: 'a=b' }],
    [raw`tcp:port=8000:interface=\[x`, { kind: 'tcp', port: 8000, host: '[x' }],
    // tcp6: default interface '::'; positional order is Twisted's (port, backlog, interface)
    ['tcp6:8000', { kind: 'tcp', port: 8000, host: '::' }],
    [raw`tcp6:8000:interface=\:\:1`, { kind: 'tcp', port: 8000, host: '::1' }],
    [raw`tcp6:8000:7:\:\:1`, { kind: 'tcp', port: 8000, host: '::1', backlog: 7 }],
    // unix
    ['unix:/tmp/x.sock', unix('/tmp/x.sock')],
    ['unix:path=/tmp/x.sock', unix('/tmp/x.sock')],
    ['unix:address=/tmp/x.sock', unix('/tmp/x.sock')],
    ['unix:/s:mode=660', unix('/s', { mode: 0o660 })],
    ['unix:/s:mode=0o600', unix('/s', { mode: 0o600 })],
    ['unix:/s:mode=0755', unix('/s', { mode: 0o755 })],
    ['unix:/s:mode=7777', unix('/s', { mode: 0o7777 })],
    ['unix:/s:backlog=100', unix('/s', { backlog: 100 })],
    ['unix:/s:lockfile=0', unix('/s', { lockfile: false })],
    ['unix:/s:lockfile=1', unix('/s')],
    ['unix:/s:600:5:0', unix('/s', { mode: 0o600, backlog: 5, lockfile: false })],
    [raw`unix:/tmp/a\:b.sock`, unix('/tmp/a:b.sock')],
    [raw`unix:/tmp/a\=b`, unix('/tmp/a=b')],
    [raw`unix:C\\dir\\s`, unix(raw`C\dir\s`)],
    ['unix:relative.sock', unix('relative.sock')],
    // ssl: certKey defaults to privateKey, privateKey to Twisted's server.pem
    ['ssl:443:privateKey=key.pem:certKey=cert.pem', ssl(443, 'key.pem', 'cert.pem')],
    ['ssl:port=443:privateKey=both.pem', ssl(443, 'both.pem')],
    ['ssl:443', ssl(443, 'server.pem')],
    [
      raw`ssl:8443:privateKey=C\:/k.pem:certKey=C\:/c.pem:interface=\:\:1:backlog=9` +
        ':extraCertChain=chain.pem:dhParameters=dh.pem:sslmethod=TLSv1_2_METHOD',
      {
        kind: 'ssl',
        port: 8443,
        host: '::1',
        privateKey: 'C:/k.pem',
        certKey: 'C:/c.pem',
        backlog: 9,
        extraCertChain: 'chain.pem',
        dhParameters: 'dh.pem',
        sslmethod: 'TLSv1_2_METHOD',
      },
    ],
    // Positionals follow Twisted's _parseSSL(port, privateKey, certKey, sslmethod, interface, …).
    [
      'ssl:443:k.pem:c.pem:SSLv23_METHOD:127.0.0.1',
      {
        kind: 'ssl',
        port: 443,
        host: '127.0.0.1',
        privateKey: 'k.pem',
        certKey: 'c.pem',
        sslmethod: 'SSLv23_METHOD',
      },
    ],
    ['SSL:443:privateKey=k', ssl(443, 'k')],
    // fd (daphne's plugin: fileno, domain)
    ['fd:fileno=3', { kind: 'fd', fileno: 3 }],
    ['fd:5', { kind: 'fd', fileno: 5 }],
    ['fd:fileno=0', { kind: 'fd', fileno: 0 }],
    ['fd:fileno=3:domain=INET6', { kind: 'fd', fileno: 3, domain: 'INET6' }],
    ['fd:3:AF_unix', { kind: 'fd', fileno: 3, domain: 'UNIX' }],
    ['Fd:fileno=3:domain=inet', { kind: 'fd', fileno: 3, domain: 'INET' }],
  ]

  it.each(cases)('%s', (description, expected) => {
    expect(parseEndpoint(description)).toEqual(expected)
  })
})

describe('parseEndpoint: bad input', () => {
  // [description, exact message]; the caret line sits under the offending part.
  const cases: [description: string, message: string][] = [
    ['', "Empty endpoint description; expected e.g. 'tcp:8000' (at offset 0)\n  \n  ^"],
    [
      'imap:',
      "Unknown endpoint type: 'imap'; supported: tcp, tcp6, unix, ssl, fd (at offset 0)\n" +
        '  imap:\n  ^^^^',
    ],
    [
      'IMAP:993',
      "Unknown endpoint type: 'imap'; supported: tcp, tcp6, unix, ssl, fd (at offset 0)\n" +
        '  IMAP:993\n  ^^^^',
    ],
    [
      ':8000',
      "Unknown endpoint type: ''; supported: tcp, tcp6, unix, ssl, fd (at offset 0)\n  :8000\n  ^",
    ],
    [
      'port=80:tcp',
      "Endpoint must start with its type, e.g. 'tcp:8000', not keyword 'port' (at offset 0)\n" +
        '  port=80:tcp\n  ^^^^^^^',
    ],
    ['tcp', "Missing required key 'port' for 'tcp' endpoint (at offset 3)\n  tcp\n     ^"],
    [
      'tcp:interface=127.0.0.1',
      "Missing required key 'port' for 'tcp' endpoint (at offset 23)\n" +
        '  tcp:interface=127.0.0.1\n                         ^',
    ],
    // An unescaped IPv6 address splits into segments: the first stray one lands on `port`.
    [
      'tcp:interface=::1',
      "'interface' given both positionally ('1') and as keyword 'interface' for 'tcp' endpoint" +
        ' (at offset 4)\n  tcp:interface=::1\n      ^^^^^^^^^^\n' +
        "  hint: escape each ':' of an IPv6 address as '\\:', e.g. interface=\\:\\:1",
    ],
    [
      'tcp:8000:interface=::1',
      "'interface' given both positionally ('') and as keyword 'interface' for 'tcp' endpoint" +
        ' (at offset 9)\n  tcp:8000:interface=::1\n           ^^^^^^^^^^\n' +
        "  hint: escape each ':' of an IPv6 address as '\\:', e.g. interface=\\:\\:1",
    ],
    [
      'tcp:',
      "Invalid port '' for 'tcp' endpoint: expected an integer 0-65535 (at offset 4)\n  tcp:\n      ^",
    ],
    [
      'tcp:http',
      "Invalid port 'http' for 'tcp' endpoint: expected an integer 0-65535 (at offset 4)\n" +
        '  tcp:http\n      ^^^^',
    ],
    [
      'tcp:port=65536',
      "Invalid port '65536' for 'tcp' endpoint: expected an integer 0-65535 (at offset 9)\n" +
        '  tcp:port=65536\n           ^^^^^',
    ],
    [
      'tcp:-1',
      "Invalid port '-1' for 'tcp' endpoint: expected an integer 0-65535 (at offset 4)\n" +
        '  tcp:-1\n      ^^',
    ],
    [
      'tcp:80.5',
      "Invalid port '80.5' for 'tcp' endpoint: expected an integer 0-65535 (at offset 4)\n" +
        '  tcp:80.5\n      ^^^^',
    ],
    [
      'ssl: 443',
      "Invalid port ' 443' for 'ssl' endpoint: expected an integer 0-65535 (at offset 4)\n" +
        '  ssl: 443\n      ^^^^',
    ],
    [
      'tcp:8000:backlog=x',
      "Invalid backlog 'x' for 'tcp' endpoint: expected a non-negative integer (at offset 17)\n" +
        '  tcp:8000:backlog=x\n                   ^',
    ],
    [
      'tcp:8000:host=0.0.0.0',
      "Unknown keyword 'host' for 'tcp' endpoint (expected one of: port, interface, backlog)" +
        ' (at offset 9)\n  tcp:8000:host=0.0.0.0\n           ^^^^^^^^^^^^',
    ],
    [
      'ssl:443:privatekey=k.pem',
      "Unknown keyword 'privatekey' for 'ssl' endpoint (did you mean 'privateKey'?) (at offset 8)\n" +
        '  ssl:443:privatekey=k.pem\n          ^^^^^^^^^^^^^^^^',
    ],
    [
      'unix:/s:=1',
      "Unknown keyword '' for 'unix' endpoint (expected one of: path, mode, backlog, lockfile)" +
        ' (at offset 8)\n  unix:/s:=1\n          ^^',
    ],
    [
      'tcp:port=80:port=81',
      "Duplicate keyword 'port' for 'tcp' endpoint (at offset 12)\n" +
        '  tcp:port=80:port=81\n              ^^^^^^^',
    ],
    [
      'unix:path=/a:address=/b',
      "Duplicate keyword 'address' for 'unix' endpoint (same as 'path') (at offset 13)\n" +
        '  unix:path=/a:address=/b\n               ^^^^^^^^^^',
    ],
    [
      'tcp:80:port=81',
      "'port' given both positionally ('80') and as keyword 'port' for 'tcp' endpoint (at offset 7)\n" +
        '  tcp:80:port=81\n         ^^^^^^^',
    ],
    [
      'unix:/a:address=/b',
      "'path' given both positionally ('/a') and as keyword 'address' for 'unix' endpoint" +
        ' (at offset 8)\n  unix:/a:address=/b\n          ^^^^^^^^^^',
    ],
    [
      'tcp:80:lo:5:extra',
      "Unexpected positional argument 'extra' for 'tcp' endpoint (at most 3: port, interface," +
        ' backlog) (at offset 12)\n  tcp:80:lo:5:extra\n              ^^^^^',
    ],
    ['fd', "Missing required key 'fileno' for 'fd' endpoint (at offset 2)\n  fd\n    ^"],
    [
      'fd:fileno=three',
      "Invalid fileno 'three' for 'fd' endpoint: expected a non-negative integer (at offset 10)\n" +
        '  fd:fileno=three\n            ^^^^^',
    ],
    [
      'fd:fileno=3:domain=INET7',
      "Invalid domain 'INET7' for 'fd' endpoint: expected INET, INET6 or UNIX (at offset 19)\n" +
        '  fd:fileno=3:domain=INET7\n                     ^^^^^',
    ],
    ['unix', "Missing required key 'path' for 'unix' endpoint (at offset 4)\n  unix\n      ^"],
    [
      'unix:',
      "Invalid path '' for 'unix' endpoint: expected a file path (at offset 5)\n  unix:\n       ^",
    ],
    [
      'unix:/s:mode=999',
      "Invalid mode '999' for 'unix' endpoint: expected octal permissions such as 660 (at offset 13)\n" +
        '  unix:/s:mode=999\n               ^^^',
    ],
    [
      'unix:/s:mode=rw',
      "Invalid mode 'rw' for 'unix' endpoint: expected octal permissions such as 660 (at offset 13)\n" +
        '  unix:/s:mode=rw\n               ^^',
    ],
    [
      'unix:/s:mode=17777',
      "Invalid mode '17777' for 'unix' endpoint: expected octal permissions such as 660" +
        ' (at offset 13)\n  unix:/s:mode=17777\n               ^^^^^',
    ],
    [
      'unix:/s:lockfile=yes',
      "Invalid lockfile 'yes' for 'unix' endpoint: expected 0 or 1 (at offset 17)\n" +
        '  unix:/s:lockfile=yes\n                   ^^^',
    ],
    [
      'ssl:443:privateKey=',
      "Invalid privateKey '' for 'ssl' endpoint: expected a file path (at offset 19)\n" +
        '  ssl:443:privateKey=\n                     ^',
    ],
    [
      'ssl:443:certKey=',
      "Invalid certKey '' for 'ssl' endpoint: expected a file path (at offset 16)\n" +
        '  ssl:443:certKey=\n                  ^',
    ],
    [
      'tcp:8000\\',
      'Dangling backslash at the end of the endpoint (at offset 8)\n  tcp:8000\\\n          ^',
    ],
  ]

  it.each(cases)('%j', (description, message) => {
    let error: unknown
    try {
      parseEndpoint(description)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(EndpointSyntaxError)
    expect((error as Error).message).toBe(message)
  })
})
