/**
 * The load generator's bare-socket handshake: against the real server it opens a WebSocket the
 * server counts as open; against a server that answers wrongly it fails with a clear reason.
 */
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { acceptFor, rawHandshake } from '../../bench/raw-handshake.js'
import type { Application } from '../../src/framework/asgi/types.js'
import { useServers } from '../helpers/with-server.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  // Last in, first out: a client socket goes before the server it holds open.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A TCP server that answers any request head with `answer(key)`. */
async function fakeServer(answer: (key: string) => string): Promise<number> {
  const server = net.createServer((socket) => {
    let head = ''
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      const key = /sec-websocket-key: ([^\r]*)/i.exec(head)?.[1] ?? ''
      socket.write(answer(key))
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as net.AddressInfo).port
}

describe('rawHandshake', () => {
  const start = useServers()

  it('computes the RFC 6455 accept value', () => {
    // The example from RFC 6455 §1.3.
    expect(acceptFor('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
  })

  it('opens a WebSocket the real server accepts, sending the Origin given', async () => {
    let origin: string | undefined
    let connected!: () => void
    const opened = new Promise<void>((resolve) => (connected = resolve))
    const app: Application = async (scope, receive, send) => {
      if (scope.type !== 'websocket') return
      origin = scope.headers
        .find(([name]) => Buffer.from(name).toString() === 'origin')?.[1]
        .toString()
      await receive()
      await send({ type: 'websocket.accept' })
      connected()
      await receive()
    }
    const { wsUrl } = await start(app, { reactor: 'uws' })
    const socket = await rawHandshake({
      url: `${wsUrl}/ws/`,
      origin: 'http://example.test',
      timeoutMs: 5000,
    })
    cleanups.push(() => void socket.destroy())
    await opened
    expect(origin).toBe('http://example.test')
    expect(socket.destroyed).toBe(false)
  })

  it('fails on a refusal, naming the status line', async () => {
    const port = await fakeServer(() => 'HTTP/1.1 403 Access denied\r\nContent-Length: 0\r\n\r\n')
    await expect(rawHandshake({ url: `ws://127.0.0.1:${port}/`, timeoutMs: 5000 })).rejects.toThrow(
      'Unexpected server response: HTTP/1.1 403 Access denied',
    )
  })

  it('fails on a 101 with the wrong accept value', async () => {
    const port = await fakeServer(
      () =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bogus\r\n\r\n',
    )
    await expect(rawHandshake({ url: `ws://127.0.0.1:${port}/`, timeoutMs: 5000 })).rejects.toThrow(
      'wrong or missing Sec-WebSocket-Accept',
    )
  })

  it('accepts the right accept value whatever the header case', async () => {
    const port = await fakeServer(
      (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nsec-websocket-accept: ${acceptFor(key)}\r\n\r\n`,
    )
    const socket = await rawHandshake({ url: `ws://127.0.0.1:${port}/`, timeoutMs: 5000 })
    cleanups.push(() => void socket.destroy())
    expect(socket.destroyed).toBe(false)
  })

  it('fails when the server closes before answering, and on a non-ws URL', async () => {
    const server = net.createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const port = (server.address() as net.AddressInfo).port
    await expect(
      rawHandshake({ url: `ws://127.0.0.1:${port}/`, timeoutMs: 5000 }),
    ).rejects.toThrow()
    expect(() => rawHandshake({ url: 'wss://127.0.0.1:1/', timeoutMs: 5000 })).toThrow(
      'raw handshakes need a ws:// URL',
    )
  })
})
