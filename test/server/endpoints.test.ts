// The same WebSocket + HTTP scenario over tcp, unix-socket and TLS endpoints, on every reactor.
import { mkdtemp, rm } from 'node:fs/promises'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Application, WebSocketScope } from '../../src/framework/asgi/types.js'
import { echoWebSocketApp } from '../helpers/asgi-apps.js'
import { makeSelfSignedCert, type SelfSignedCert } from '../helpers/tls.js'
import { REACTORS, useServers, type RunningServer } from '../helpers/with-server.js'
import { openClient } from '../helpers/ws-client.js'
import type { ClientOptions } from 'ws'

function app(
  echo = echoWebSocketApp({ subprotocol: 'chat' }),
): Application & { echo: typeof echo } {
  const handler: Application = async (scope, receive, send) => {
    if (scope.type === 'websocket') return echo(scope, receive, send)
    await receive()
    await send({ type: 'http.response.start', status: 200 })
    await send({
      type: 'http.response.body',
      body: Buffer.from(`${String(scope.scheme)} ${JSON.stringify(scope.client)}`),
    })
  }
  return Object.assign(handler, { echo })
}

async function scenario(url: string, options: ClientOptions = {}) {
  const client = await openClient(url, ['chat'], options)
  expect(client.ws.protocol).toBe('chat')
  client.send('over the wire')
  expect(await client.next()).toBe('over the wire')
  client.close(1000)
  return client.closed
}

describe.each(REACTORS)('endpoints on the %s reactor', (reactor) => {
  const start = useServers()
  let cert: SelfSignedCert
  let dir: string

  beforeAll(async () => {
    cert = await makeSelfSignedCert()
    dir = await mkdtemp(join(tmpdir(), 'channels-unix-'))
  })
  afterAll(async () => {
    await cert.cleanup()
    await rm(dir, { recursive: true, force: true })
  })

  async function expectDrained(running: RunningServer) {
    await expect.poll(() => running.server.connectionCount).toBe(0)
  }

  it('tcp', async () => {
    const served = app()
    const running = await start(served, { reactor })
    expect((await scenario(`${running.wsUrl}/tcp`)).code).toBe(1000)
    expect((served.echo.calls[0]!.scope as WebSocketScope).scheme).toBe('ws')
    await expectDrained(running)
  })

  it('unix socket', async () => {
    const served = app()
    const path = join(dir, `${reactor}.sock`)
    const running = await start(served, { reactor }, [`unix:${path}`])
    expect(running.started.listeners[0]!.address).toEqual({ kind: 'unix', path })
    expect((await scenario(`ws+unix://${path}:/unix`)).code).toBe(1000)
    const scope = served.echo.calls[0]!.scope as WebSocketScope
    expect(scope.path).toBe('/unix')
    expect(scope.client).toBeNull()
    await expectDrained(running)
  })

  it('TLS (wss and https)', async () => {
    const served = app()
    const running = await start(served, { reactor }, [
      `ssl:port=0:interface=127.0.0.1:privateKey=${cert.keyPath}:certKey=${cert.certPath}`,
    ])
    const ca = await import('node:fs/promises').then((fs) => fs.readFile(cert.certPath))
    expect((await scenario(`${running.wsUrl}/tls`, { ca })).code).toBe(1000)
    expect((served.echo.calls[0]!.scope as WebSocketScope).scheme).toBe('wss')
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`${running.url}/`, { ca }, (res) => {
          let text = ''
          res.on('data', (chunk: Buffer) => (text += chunk.toString()))
          res.on('end', () => resolve(text))
        })
        .on('error', reject)
    })
    expect(body.startsWith('https ')).toBe(true)
    await expectDrained(running)
  })
})
