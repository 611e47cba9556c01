/**
 * Contract: bad input the reactor answers itself, over raw sockets. Malformed handshakes get
 * 400/405/426 without reaching the server; broken requests neither crash the process nor reach
 * the server; the next client is served either way.
 * @module
 */
import { describe, expect, it, vi } from 'vitest'
import type { ReactorName } from '../../../src/server/reactor/types.js'
import { connectRaw, handshakeRequest, rawExchange, WS_KEY } from '../../helpers/ws-client.js'
import { collector, headOf, type Harness } from './harness.js'
import { get } from './contract-listen.js'

/** A raw handshake with some lines replaced or removed. */
interface HandshakeEdits {
  method?: string
  drop?: string[]
  add?: string[]
  version?: string
}

function handshake(edits: HandshakeEdits = {}): string {
  const lines = handshakeRequest('/ws', {}, edits.version ?? '13')
    .split('\r\n')
    .filter(Boolean)
  const dropped = (line: string) =>
    (edits.drop ?? []).some((name) => line.toLowerCase().startsWith(name))
  const kept = lines.filter((line) => !dropped(line))
  if (edits.method) kept[0] = kept[0]!.replace(/^GET/, edits.method)
  return `${[...kept, ...(edits.add ?? [])].join('\r\n')}\r\n\r\n`
}

/** Listen with a collector that also answers plain requests 200 "served". */
async function serving(harness: () => Harness) {
  const seen = collector()
  const listener = await harness().listen({
    onRequest(request, response) {
      seen.handlers.onRequest(request, response)
      response.writeHead({ status: 200, headers: [] })
      response.end(Buffer.from('served'))
    },
    onUpgrade: seen.handlers.onUpgrade,
  })
  return { ...seen, port: listener.port }
}

export function badInputContract(_name: ReactorName, harness: () => Harness): void {
  describe('bad input', () => {
    const cases: [string, string, RegExp][] = [
      ['no Sec-WebSocket-Key', handshake({ drop: ['sec-websocket-key'] }), /^HTTP\/1\.1 400 /],
      [
        'a malformed key',
        handshake({ drop: ['sec-websocket-key'], add: ['Sec-WebSocket-Key: short'] }),
        /^HTTP\/1\.1 400 /,
      ],
      ['Sec-WebSocket-Version 8', handshake({ version: '8' }), /^HTTP\/1\.1 426 /],
      [
        'no Sec-WebSocket-Version',
        handshake({ drop: ['sec-websocket-version'] }),
        /^HTTP\/1\.1 426 /,
      ],
      ['a POST upgrade', handshake({ method: 'POST' }), /^HTTP\/1\.1 405 /],
      ['no Connection: upgrade', handshake({ drop: ['connection'] }), /^HTTP\/1\.1 400 /],
      ['a key without Upgrade: websocket', handshake({ drop: ['upgrade'] }), /^HTTP\/1\.1 400 /],
    ]
    for (const [label, request, status] of cases) {
      it(`answers a handshake with ${label} itself (${status.source.slice(12, 15)})`, async () => {
        const { port, upgrades, requests } = await serving(harness)
        const data = await rawExchange(port, request)
        expect(headOf(data)).toMatch(status)
        expect(headOf(data).match(/^Connection: close$/gim)).toHaveLength(1)
        if (status.source.includes('426')) {
          expect(headOf(data)).toMatch(/\r\nSec-WebSocket-Version: 13(\r\n|$)/i)
        }
        expect(upgrades).toEqual([])
        expect(requests).toEqual([])
        expect((await get({ host: '127.0.0.1', port, path: '/next' })).body).toBe('served')
      })
    }

    it('survives a client that sends part of a head and disconnects', async () => {
      const { port, requests } = await serving(harness)
      const raw = await connectRaw(port)
      raw.write('GET /half HTTP/1.1\r\nHost: x\r\nX-Partial: ')
      await new Promise((resolve) => setTimeout(resolve, 20))
      raw.destroy()
      const upgrade = await connectRaw(port)
      upgrade.write(
        `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ${WS_KEY}`,
      )
      upgrade.destroy()
      expect((await get({ host: '127.0.0.1', port, path: '/next' })).body).toBe('served')
      expect(requests.map((r) => r.request.url)).toEqual(['/next'])
    })

    it('survives a client that sends a whole head and disconnects before the answer', async () => {
      const seen = collector()
      const listener = await harness().listen(seen.handlers)
      const raw = await connectRaw(listener.port)
      raw.write('GET /gone HTTP/1.1\r\nHost: x\r\n\r\n')
      await vi.waitFor(() => expect(seen.requests).toHaveLength(1))
      raw.destroy()
      const upgrade = await connectRaw(listener.port)
      upgrade.write(handshake())
      await vi.waitFor(() => expect(seen.upgrades).toHaveLength(1))
      upgrade.destroy()
      await new Promise((resolve) => setTimeout(resolve, 50))
      // Late answers to vanished clients are no-ops.
      seen.requests[0]!.response.end(Buffer.from('late'))
      seen.upgrades[0]!.upgrade.reject({ status: 403, headers: [] })
    })

    it('does not pass CR/LF-injected header values through, and keeps serving', async () => {
      const { port, requests } = await serving(harness)
      const injections = [
        'GET /cr HTTP/1.1\r\nHost: x\r\nX-Bad: a\rInjected: yes\r\n\r\n',
        'GET /lf HTTP/1.1\r\nHost: x\r\nX-Bad: a\nInjected: yes\r\n\r\n',
        'GET /nul HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n',
      ]
      // uWS answers nothing and closes on its ~10 s HTTP idle timeout: run them together.
      const answers = injections.map(async (text) => {
        const raw = await connectRaw(port)
        raw.write(Buffer.from(text, 'latin1'))
        return raw.closed
      })
      expect((await get({ host: '127.0.0.1', port, path: '/meanwhile' })).body).toBe('served')
      for (const data of await Promise.all(answers)) {
        const text = data.toString('latin1')
        expect(text === '' || text.startsWith('HTTP/1.1 400 ')).toBe(true)
      }
      expect(requests.map((r) => r.request.url)).toEqual(['/meanwhile'])
      expect((await get({ host: '127.0.0.1', port, path: '/after' })).body).toBe('served')
    }, 40_000)
  })
}
