/**
 * `channels serve` — Daphne's tests/test_cli.py TestCLIInterface, against a fake server that
 * records the resolved endpoints and options.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from './fake-server.js'

let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'channels-serve-'))
  writeFileSync(join(dir, 'app.mjs'), 'export const application = async () => {}\n')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Run `channels serve app.mjs:application ...args` and return what the server got. */
async function serve(...args: string[]) {
  const result = await runCli(['serve', 'app.mjs:application', '-v', '0', ...args], { cwd: dir })
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`)
  return result
}

async function endpointsFor(...args: string[]): Promise<string[]> {
  return (await serve(...args)).server.endpointStrings()
}

describe('TestCLIInterface', () => {
  it('testCLIBasics', async () => {
    expect(await endpointsFor()).toEqual(['tcp:port=8000:interface=127.0.0.1'])
    expect(await endpointsFor('-p', '123')).toEqual(['tcp:port=123:interface=127.0.0.1'])
    expect(await endpointsFor('-b', '10.0.0.1')).toEqual(['tcp:port=8000:interface=10.0.0.1'])
    expect(await endpointsFor('-b', '200a::1')).toEqual([
      String.raw`tcp:port=8000:interface=200a\:\:1`,
    ])
    expect(await endpointsFor('-b', '[200a::1]')).toEqual([
      String.raw`tcp:port=8000:interface=200a\:\:1`,
    ])
    expect(await endpointsFor('-p', '8080', '-b', 'example.com')).toEqual([
      'tcp:port=8080:interface=example.com',
    ])
  })

  it('testUnixSockets', async () => {
    expect(await endpointsFor('-p', '8080', '-u', '/tmp/channels.sock')).toEqual([
      'tcp:port=8080:interface=127.0.0.1',
      'unix:/tmp/channels.sock',
    ])
    expect(await endpointsFor('-b', 'example.com', '-u', '/tmp/channels.sock')).toEqual([
      'tcp:port=8000:interface=example.com',
      'unix:/tmp/channels.sock',
    ])
    expect(await endpointsFor('-u', '/tmp/channels.sock', '--fd', '5')).toEqual([
      'fd:fileno=5',
      'unix:/tmp/channels.sock',
    ])
  })

  it('testMixedCLIEndpointCreation', async () => {
    expect(await endpointsFor('-p', '8080', '-e', 'unix:/tmp/channels.sock')).toEqual([
      'tcp:port=8080:interface=127.0.0.1',
      'unix:/tmp/channels.sock',
    ])
    // The same endpoint twice stays twice (Daphne sorts and keeps duplicates).
    expect(await endpointsFor('-p', '8080', '-e', 'tcp:port=8080:interface=127.0.0.1')).toEqual([
      'tcp:port=8080:interface=127.0.0.1',
      'tcp:port=8080:interface=127.0.0.1',
    ])
  })

  it('testCustomEndpoints: an endpoint type we cannot serve is a clear error (Daphne passes it to Twisted plugins)', async () => {
    const result = await runCli(['serve', 'app.mjs:application', '-v', '0', '-e', 'imap:'], {
      cwd: dir,
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/Unknown endpoint type: 'imap'/)
    expect(result.server.started).toBe(false)
  })

  it('test_default_proxyheaders', async () => {
    const { server } = await serve('--proxy-headers')
    expect(server.options?.proxyHeaders).toMatchObject({ address: 'X-Forwarded-For' })
    const plain = await serve()
    expect(plain.server.options?.proxyHeaders).toBe(false)
  })

  it('test_custom_proxyhost', async () => {
    const { server } = await serve('--proxy-headers', '--proxy-headers-host', 'blah')
    expect(server.options?.proxyHeaders).toMatchObject({ address: 'blah' })
    const bad = await runCli(['serve', 'app.mjs:application', '--proxy-headers-host', 'blah'], {
      cwd: dir,
    })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain(
      'argument --proxy-headers-host: --proxy-headers has to be passed for this parameter.',
    )
    expect(bad.server.started).toBe(false)
  })

  it('test_custom_proxyport', async () => {
    const { server } = await serve('--proxy-headers', '--proxy-headers-port', 'blah2')
    expect(server.options?.proxyHeaders).toMatchObject({ port: 'blah2' })
    const bad = await runCli(['serve', 'app.mjs:application', '--proxy-headers-port', 'blah2'], {
      cwd: dir,
    })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain(
      'argument --proxy-headers-port: --proxy-headers has to be passed for this parameter.',
    )
  })

  it('test_custom_servername', async () => {
    expect((await serve()).server.options?.serverName).toBeUndefined() // the server's default, 'channels-ts'
    expect((await serve('--server-name', '')).server.options?.serverName).toBe('')
    expect((await serve('--server-name', 'python')).server.options?.serverName).toBe('python')
    expect((await serve('-s', 'python')).server.options?.serverName).toBe('python')
  })

  it('test_no_servername', async () => {
    expect((await serve('--no-server-name')).server.options?.serverName).toBe('')
  })
})

describe('serve options', () => {
  it('converts Daphne seconds to milliseconds and keeps its defaults', async () => {
    const { server } = await serve()
    expect(server.options).toMatchObject({
      httpTimeout: null,
      websocketTimeout: 86_400_000,
      websocketConnectTimeout: 5000,
      websocketHandshakeTimeout: 5000,
      pingInterval: 20_000,
      pingTimeout: 30_000,
      applicationCloseTimeout: 10_000,
      websocketMaxMessageSize: 1_048_576,
      rootPath: '',
      reactor: 'auto',
      signalHandlers: false,
    })
    const tuned = await serve(
      '-t',
      '7',
      '--websocket_timeout',
      '-1',
      '--websocket_connect_timeout',
      '3',
      '--ping-interval',
      '2',
      '--ping-timeout',
      '4',
      '--application-close-timeout',
      '1',
      '--websocket-max-message-size',
      '0',
      '--root-path',
      '/mount',
      '--reactor',
      'node',
    )
    expect(tuned.server.options).toMatchObject({
      httpTimeout: 7000,
      websocketTimeout: null,
      websocketConnectTimeout: 3000,
      websocketHandshakeTimeout: 3000,
      pingInterval: 2000,
      pingTimeout: 4000,
      applicationCloseTimeout: 1000,
      websocketMaxMessageSize: 0,
      rootPath: '/mount',
      reactor: 'node',
    })
  })

  it('passes the WebSocket send-buffer limits in bytes and the close timeout in milliseconds', async () => {
    expect((await serve()).server.options).toMatchObject({
      websocketMaxBufferedBytes: 8 * 1024 * 1024,
      websocketBufferBudget: 256 * 1024 * 1024,
      websocketCloseTimeout: 5_000,
    })
    const tuned = await serve(
      '--websocket-max-buffered-bytes',
      '65536',
      '--websocket-buffer-budget',
      '0',
      '--websocket-close-timeout',
      '2',
    )
    expect(tuned.server.options).toMatchObject({
      websocketMaxBufferedBytes: 65_536,
      websocketBufferBudget: 0,
      websocketCloseTimeout: 2_000,
    })
    const refused = await runCli(
      ['serve', 'app.mjs:application', '--websocket-buffer-budget', '-1'],
      { cwd: dir },
    )
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('argument --websocket-buffer-budget: must not be negative')
  })

  it('passes the node reactor limits in milliseconds, 0 as never / no cap', async () => {
    expect((await serve()).server.options).toMatchObject({
      headersTimeout: 10_000,
      requestTimeout: 60_000,
      keepAliveTimeout: 5_000,
      maxConnections: null,
    })
    const tuned = await serve(
      '--headers-timeout',
      '3',
      '--request-timeout',
      '0',
      '--keep-alive-timeout',
      '2',
      '--max-connections',
      '500',
    )
    expect(tuned.server.options).toMatchObject({
      headersTimeout: 3000,
      requestTimeout: null,
      keepAliveTimeout: 2000,
      maxConnections: 500,
    })
    const args = ['serve', 'app.mjs:application', '--headers-timeout', '90']
    const refused = await runCli(args, { cwd: dir })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(
      'argument --headers-timeout: must not exceed --request-timeout (60)',
    )
  })

  it('logs Starting server and Listening on TCP address at verbosity 1', async () => {
    const result = await runCli(['serve', 'app.mjs:application', '-p', '9123'], { cwd: dir })
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(
      /INFO {5}Starting server at tcp:port=9123:interface=127\.0\.0\.1\n/,
    )
    expect(result.stderr).toMatch(/INFO {5}Listening on TCP address 127\.0\.0\.1:9123\n/)
    expect(result.server.stopped).toBe(true)
  })

  it('refuses non-integer numbers like argparse (exit 2)', async () => {
    const result = await runCli(['serve', 'app.mjs:application', '-p', '80a'], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("invalid int value: '80a'")
  })

  it('refuses an unknown reactor', async () => {
    const result = await runCli(['serve', 'app.mjs:application', '--reactor', 'twisted'], {
      cwd: dir,
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/twisted/)
  })

  it('reports a missing module and a missing export', async () => {
    const missing = await runCli(['serve', 'nope.ts:application'], { cwd: dir })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("Cannot import module 'nope.ts'")
    const noExport = await runCli(['serve', 'app.mjs:app'], { cwd: dir })
    expect(noExport.code).toBe(1)
    expect(noExport.stderr).toContain("Cannot find 'app' in module app.mjs")
  })

  it('needs settings when no application is given', async () => {
    const result = await runCli(['serve'], { cwd: dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/No settings found/)
  })

  it('reports a listen failure with exit code 1', async () => {
    const error = Object.assign(
      new Error('Listen failure: listen EADDRINUSE: address already in use 127.0.0.1:8000'),
      {
        code: 'EADDRINUSE',
      },
    )
    const result = await runCli(['serve', 'app.mjs:application', '-v', '0'], {
      cwd: dir,
      startError: error,
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('Listen failure')
  })

  it('handles SIGTERM from before the server listens, so a signal during start drains it', async () => {
    const before = process.listenerCount('SIGTERM')
    const result = await runCli(['serve', 'app.mjs:application', '-v', '0'], {
      cwd: dir,
      processSignals: true,
    })
    expect(result.server.signalListenersAtStart).toBe(before + 1)
    expect(result.code).toBe(0)
    expect(result.server.stopped).toBe(true)
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })
})
