// Interop: Python's `websockets` library (Debian python3-websockets, run with /usr/bin/python3)
// completes an echo, a subprotocol negotiation and a rejected handshake against the server.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import type { Application, WebSocketScope } from '../../src/framework/asgi/types.js'
import { echoWebSocketApp } from '../helpers/asgi-apps.js'
import { REACTORS, useServers } from '../helpers/with-server.js'

const run = promisify(execFile)
const SCRIPT = fileURLToPath(new URL('./fixtures/websockets_client.py', import.meta.url))

async function python(url: string, scenario: string): Promise<Record<string, unknown>> {
  const { stdout } = await run('/usr/bin/python3', [SCRIPT, url, scenario], {
    timeout: 15_000,
  }).catch((error: unknown) => {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`python websockets ${scenario} failed: ${stdout}${stderr}`)
  })
  return JSON.parse(stdout.trim()) as Record<string, unknown>
}

describe.each(REACTORS)('Python websockets client against the %s reactor', (reactor) => {
  const start = useServers()

  it('completes an echo (text and binary)', async () => {
    const { wsUrl } = await start(echoWebSocketApp(), { reactor })
    expect(await python(`${wsUrl}/echo/`, 'echo')).toEqual({
      ok: true,
      text: 'hello from python',
      bytes: '00ff62696e617279',
    })
  })

  it('negotiates a subprotocol', async () => {
    const app = echoWebSocketApp({
      subprotocol: (scope) => (scope as WebSocketScope).subprotocols.at(-1),
    })
    const { wsUrl } = await start(app, { reactor })
    expect(await python(`${wsUrl}/`, 'subprotocol')).toEqual({ ok: true, subprotocol: 'v2.chat' })
    expect((app.calls[0]!.scope as WebSocketScope).subprotocols).toEqual(['v1.chat', 'v2.chat'])
  })

  it('sees a rejected handshake as 403', async () => {
    const app: Application = echoWebSocketApp({ reject: true })
    const { wsUrl, server } = await start(app, { reactor })
    expect(await python(`${wsUrl}/`, 'reject')).toEqual({ ok: true, status: 403 })
    await expect.poll(() => server.connectionCount).toBe(0)
  })
})
