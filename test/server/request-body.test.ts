// Request bodies over real sockets, on every reactor: flow control (an app that does not read
// cannot make the server buffer a body without bound), and a response that ends before the body
// was read closes the connection instead of reading the rest.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Application, Receive, Send } from '../../src/framework/asgi/types.js'
import { REACTORS, useServers } from '../helpers/with-server.js'
import { connectRaw } from '../helpers/ws-client.js'
import { drainsWithin, parseResponse, upload, uploadDigest } from '../helpers/upload-client.js'

const MiB = 1024 * 1024

/** Read the whole body as it comes (keeping only its size and digest). */
async function digestBody(receive: Receive): Promise<{ size: number; digest: string }> {
  const hash = createHash('sha256')
  let size = 0
  for (;;) {
    const message = await receive()
    if (message.type !== 'http.request') break
    const body = (message.body as Uint8Array | undefined) ?? Buffer.alloc(0)
    hash.update(body)
    size += body.byteLength
    if (!message.more_body) break
  }
  return { size, digest: hash.digest('hex') }
}

async function respond(send: Send, status: number, body: string): Promise<void> {
  await send({ type: 'http.response.start', status, headers: [] })
  await send({ type: 'http.response.body', body: Buffer.from(body) })
}

describe.each(REACTORS)('request bodies on the %s reactor', (reactor) => {
  const start = useServers()

  it('an app that does not read stops the server reading: the client blocks, nothing piles up', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const app: Application = async (_scope, receive, send) => {
      await gate
      await respond(send, 200, JSON.stringify(await digestBody(receive)))
    }
    const { port } = await start(app, { reactor })
    const size = 96 * MiB
    let blockedAt = -1
    const result = await upload({
      port,
      size,
      onBlocked: async (sent, drained) => {
        // Blocked for good: the server stopped reading. Then let the app read everything.
        if (blockedAt < 0 && !(await drainsWithin(drained, 500))) {
          blockedAt = sent
          release()
        }
        await drained
      },
      onWritten: release,
    })
    // Kernel buffers hold a few MiB; the rest waited in the client.
    expect(blockedAt).toBeGreaterThan(0)
    expect(blockedAt).toBeLessThan(size / 2)
    expect(result.response?.status).toBe(200)
    expect(JSON.parse(result.response!.body.toString())).toEqual({
      size,
      digest: uploadDigest(size),
    })
  })

  it('a response before the body was read closes the connection; the rest is not read', async () => {
    const app: Application = async (_scope, _receive, send) => {
      await respond(send, 413, 'too large')
    }
    const { port, url } = await start(app, { reactor })
    const size = 256 * MiB
    const result = await upload({ port, size, timeout: 20_000 })
    expect(result.response?.status).toBe(413)
    expect(result.response?.headers.connection).toBe('close')
    expect(result.sent).toBeLessThan(size)
    // Chunked too.
    const chunked = await upload({ port, size, chunked: true, timeout: 20_000 })
    expect(chunked.response?.status).toBe(413)
    expect(chunked.sent).toBeLessThan(size)
    // The server goes on serving.
    expect((await fetch(url)).status).toBe(413)
  })

  it('a client that stays after such a response is closed by the server, unread body and all', async () => {
    const app: Application = async (_scope, _receive, send) => {
      await respond(send, 413, 'too large')
    }
    const { port } = await start(app, { reactor })
    const connection = await connectRaw(port)
    connection.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000\r\n\r\n')
    connection.write(Buffer.alloc(256 * 1024))
    // The client neither sends more nor leaves: the server ends the connection (node at once
    // with a FIN, then a reset after its grace period; uWS after its idle timeout).
    const response = await Promise.race([
      connection.closed,
      new Promise<Buffer>((_, reject) => setTimeout(() => reject(new Error('still open')), 25_000)),
    ])
    expect(parseResponse(response)?.status).toBe(413)
  }, 30_000)

  it('a body read in full keeps the connection alive; so does a GET answered at once', async () => {
    const app: Application = async (scope, receive, send) => {
      if (scope.type !== 'http') return
      const body = scope.method === 'POST' ? await digestBody(receive) : null
      await respond(send, 200, JSON.stringify(body))
    }
    const { port } = await start(app, { reactor })
    const connection = await connectRaw(port)
    const post = 'POST /a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello'
    connection.write(post)
    const first = parseResponse(await connection.until((data) => parseResponse(data) !== null))
    expect(first?.status).toBe(200)
    expect(first?.headers.connection ?? '').not.toMatch(/close/i)
    const before = connection.received().length
    connection.write('GET /b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    const second = await connection.until((data) => parseResponse(data.subarray(before)) !== null)
    expect(parseResponse(second.subarray(before))?.body.toString()).toBe('null')
    connection.destroy()
  })
})
