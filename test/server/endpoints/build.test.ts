import { describe, expect, it } from 'vitest'
import { EndpointSyntaxError, ValueError } from '../../../src/framework/asgi/errors.js'
import {
  buildEndpointDescriptionStrings as build,
  parseEndpoint,
  resolveEndpointStrings,
} from '../../../src/server/endpoints/index.js'
import type { EndpointOptions } from '../../../src/server/endpoints/index.js'

const TCP_ONLY = 'TCP binding requires both port and host kwargs.'

// daphne tests/test_cli.py — TestEndpointDescriptions
describe('TestEndpointDescriptions', () => {
  it('testBasics', () => {
    expect(build()).toEqual([])
    expect(build({})).toEqual([])
  })

  it.each([
    [{ port: 1234, host: 'example.com' }, 'tcp:port=1234:interface=example.com'],
    [{ port: 8000, host: '127.0.0.1' }, 'tcp:port=8000:interface=127.0.0.1'],
    [{ port: 8000, host: '[200a::1]' }, String.raw`tcp:port=8000:interface=200a\:\:1`],
    [{ port: 8000, host: '200a::1' }, String.raw`tcp:port=8000:interface=200a\:\:1`],
    // Python's strip('[]') takes any run of brackets off either end.
    [{ port: 8000, host: '[[::1]]' }, String.raw`tcp:port=8000:interface=\:\:1`],
    [{ port: 0, host: '127.0.0.1' }, 'tcp:port=0:interface=127.0.0.1'],
  ])('testTcpPortBindings %o', (flags, expected) => {
    expect(build(flags)).toEqual([expected])
  })

  it.each([
    { port: 123 },
    { host: 'example.com' },
    { host: 'example.com', port: null },
    { host: '', port: 8000 },
    // Deviation from daphne, which ignores `port=0` alone because 0 is falsy in Python.
    { port: 0 },
    { host: '', port: 0 },
  ])('testTcpPortBindings: incomplete %o raises ValueError', (flags) => {
    expect(() => build(flags)).toThrow(ValueError)
    expect(() => build(flags)).toThrow(TCP_ONLY)
  })

  it('testUnixSocketBinding', () => {
    expect(build({ unixSocket: '/tmp/daphne.sock' })).toEqual(['unix:/tmp/daphne.sock'])
  })

  it('testFileDescriptorBinding', () => {
    expect(build({ fileDescriptor: 5 })).toEqual(['fd:fileno=5'])
    expect(build({ fileDescriptor: 0 })).toEqual(['fd:fileno=0'])
  })

  it('testMultipleEnpoints: returned in tcp, unix, fd order', () => {
    expect(
      build({ fileDescriptor: 123, unixSocket: '/tmp/daphne.sock', port: 8080, host: '10.0.0.1' }),
    ).toEqual(['tcp:port=8080:interface=10.0.0.1', 'unix:/tmp/daphne.sock', 'fd:fileno=123'])
  })

  it('empty strings and nulls count as not given', () => {
    expect(build({ host: '', port: null, unixSocket: '', fileDescriptor: null })).toEqual([])
  })

  it.each([
    [{ host: 'x', port: 80.5 }, 'port must be an integer, got 80.5.'],
    [{ host: 'x', port: NaN }, 'port must be an integer, got NaN.'],
    [{ fileDescriptor: 1.5 }, 'fileDescriptor must be an integer, got 1.5.'],
  ])('rejects non-integer numbers %o', (flags, message) => {
    expect(() => build(flags)).toThrow(new ValueError(message))
  })

  it('IPv6 escapes round-trip: build → parse gives the bare address', () => {
    for (const host of ['200a::1', '[200a::1]']) {
      const [description] = build({ host, port: 8000 })
      expect(parseEndpoint(description ?? '')).toEqual({ kind: 'tcp', port: 8000, host: '200a::1' })
    }
  })

  it('a unix path with `:` breaks parsing, as in daphne (paths are not escaped)', () => {
    const [description] = build({ unixSocket: '/tmp/a:b.sock' })
    expect(description).toBe('unix:/tmp/a:b.sock')
    expect(() => parseEndpoint(description ?? '')).toThrow(EndpointSyntaxError)
  })
})

// daphne tests/test_cli.py — TestCLIInterface, the binding-resolution part of cli.run
describe('TestCLIInterface binding resolution', () => {
  const cases: [name: string, options: EndpointOptions, expected: string[]][] = [
    ['testCLIBasics: nothing', {}, ['tcp:port=8000:interface=127.0.0.1']],
    ['testCLIBasics: -p 123', { port: 123 }, ['tcp:port=123:interface=127.0.0.1']],
    ['testCLIBasics: -b 10.0.0.1', { host: '10.0.0.1' }, ['tcp:port=8000:interface=10.0.0.1']],
    [
      'testCLIBasics: -b 200a::1',
      { host: '200a::1' },
      [String.raw`tcp:port=8000:interface=200a\:\:1`],
    ],
    [
      'testCLIBasics: -b [200a::1]',
      { host: '[200a::1]' },
      [String.raw`tcp:port=8000:interface=200a\:\:1`],
    ],
    [
      'testCLIBasics: -p 8080 -b example.com',
      { port: 8080, host: 'example.com' },
      ['tcp:port=8080:interface=example.com'],
    ],
    ['-p 0 gets the default host', { port: 0 }, ['tcp:port=0:interface=127.0.0.1']],
    [
      'testUnixSockets: -p 8080 -u sock',
      { port: 8080, unixSocket: '/tmp/daphne.sock' },
      ['tcp:port=8080:interface=127.0.0.1', 'unix:/tmp/daphne.sock'],
    ],
    [
      'testUnixSockets: -b example.com -u sock',
      { host: 'example.com', unixSocket: '/tmp/daphne.sock' },
      ['tcp:port=8000:interface=example.com', 'unix:/tmp/daphne.sock'],
    ],
    [
      'testUnixSockets: -u sock --fd 5 (no TCP)',
      { unixSocket: '/tmp/daphne.sock', fileDescriptor: 5 },
      ['fd:fileno=5', 'unix:/tmp/daphne.sock'],
    ],
    ['-u sock alone binds only the socket', { unixSocket: '/x.sock' }, ['unix:/x.sock']],
    ['--fd 0 alone binds only the fd', { fileDescriptor: 0 }, ['fd:fileno=0']],
    [
      'testMixedCLIEndpointCreation: -p 8080 -e unix:',
      { port: 8080, endpoints: ['unix:/tmp/daphne.sock'] },
      ['tcp:port=8080:interface=127.0.0.1', 'unix:/tmp/daphne.sock'],
    ],
    [
      'testMixedCLIEndpointCreation: -p 8080 -e <same tcp> keeps the duplicate',
      { port: 8080, endpoints: ['tcp:port=8080:interface=127.0.0.1'] },
      ['tcp:port=8080:interface=127.0.0.1', 'tcp:port=8080:interface=127.0.0.1'],
    ],
    ['testCustomEndpoints: -e imap:', { endpoints: ['imap:'] }, ['imap:']],
    [
      'raw -e strings are kept verbatim and sorted with the built ones',
      { endpoints: ['unix:/b', 'TCP:80', 'fd:fileno=3'], host: 'h' },
      ['TCP:80', 'fd:fileno=3', 'tcp:port=8000:interface=h', 'unix:/b'],
    ],
    [
      'sorted by code point like Python (astral after U+FFFF)',
      { endpoints: ['unix:/\u{1F600}', 'unix:/\uFFFF'] },
      ['unix:/\uFFFF', 'unix:/\u{1F600}'],
    ],
  ]

  it.each(cases)('%s', (_name, options, expected) => {
    expect(resolveEndpointStrings(options)).toEqual(expected)
  })

  it('does not mutate the raw endpoint list', () => {
    const endpoints = ['unix:/b', 'fd:fileno=1']
    resolveEndpointStrings({ endpoints })
    expect(endpoints).toEqual(['unix:/b', 'fd:fileno=1'])
  })

  it('testCustomEndpoints: parsing the passed-through imap: fails clearly', () => {
    const [raw] = resolveEndpointStrings({ endpoints: ['imap:'] })
    expect(() => parseEndpoint(raw ?? '')).toThrow(
      "Unknown endpoint type: 'imap'; supported: tcp, tcp6, unix, ssl, fd (at offset 0)\n" +
        '  imap:\n' +
        '  ^^^^',
    )
  })
})
