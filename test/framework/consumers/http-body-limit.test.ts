// AsyncHttpConsumer and DATA_UPLOAD_MAX_MEMORY_SIZE over real sockets, on every reactor: a body
// over the limit is answered 413 at once and the connection closes (the rest is never read);
// a body under it arrives whole; consumers made for big bodies opt out; null lifts the limit.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { HttpRequestEvent } from '../../../src/framework/asgi/types.js'
import { AsyncHttpConsumer } from '../../../src/framework/consumers/http.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { REACTORS, useLogRecords, useServers } from '../../helpers/with-server.js'
import { upload, uploadDigest } from '../../helpers/upload-client.js'

const MiB = 1024 * 1024

/** Buffers the body (the default) and answers its size and digest. */
class Digest extends AsyncHttpConsumer {
  override async handle(body: Uint8Array): Promise<void> {
    const digest = createHash('sha256').update(body).digest('hex')
    await this.sendResponse(200, JSON.stringify({ size: body.byteLength, digest }))
  }
}

/** Made for big uploads: no limit on what it buffers. */
class BigUpload extends Digest {
  override dataUploadMaxMemorySize = null
}

/** Takes the chunks as they come: nothing buffered, so no limit applies. */
class Streaming extends AsyncHttpConsumer {
  #hash = createHash('sha256')
  #size = 0

  override async http_request(message: HttpRequestEvent): Promise<void> {
    const chunk = message.body
    this.#hash.update(chunk)
    this.#size += chunk.byteLength
    if (message.more_body) return
    const digest = this.#hash.digest('hex')
    await this.sendResponse(200, JSON.stringify({ size: this.#size, digest }))
  }
}

function expectWhole(result: Awaited<ReturnType<typeof upload>>, size: number): void {
  expect(result.response?.status).toBe(200)
  expect(JSON.parse(result.response!.body.toString())).toEqual({
    size,
    digest: uploadDigest(size),
  })
}

describe.each(REACTORS)('DATA_UPLOAD_MAX_MEMORY_SIZE on the %s reactor', (reactor) => {
  const start = useServers()
  const logs = useLogRecords()

  it('a body under the limit (2.5 MiB by default) arrives whole', async () => {
    const { port } = await start(Digest.asAsgi(), { reactor })
    expectWhole(await upload({ port, size: 2.5 * MiB }), 2.5 * MiB)
    expectWhole(await upload({ port, size: 2 * MiB, chunked: true }), 2 * MiB)
  })

  it('a declared 50 MiB body gets 413 at once, the connection closes, the server serves on', async () => {
    const { port, url } = await start(Digest.asAsgi(), { reactor })
    const size = 50 * MiB
    const result = await upload({ port, size })
    expect(result.response?.status).toBe(413)
    expect(result.response?.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(result.response?.body.toString()).toContain('<h1>Payload Too Large (413)</h1>')
    expect(result.response?.headers.connection).toBe('close')
    // The server stopped reading: most of the body never left the client.
    expect(result.sent).toBeLessThan(size)
    const next = await fetch(url, { method: 'POST', body: 'small' })
    expect(next.status).toBe(200)
    expect(logs.filter((r) => r.logger === 'channels.security.RequestDataTooBig')).toHaveLength(1)
  })

  it('a chunked body is cut off once it grows past the limit', async () => {
    const { port } = await start(Digest.asAsgi(), { reactor })
    const size = 50 * MiB
    const result = await upload({ port, size, chunked: true })
    expect(result.response?.status).toBe(413)
    expect(result.sent).toBeLessThan(size)
  })

  it('consumers made for big bodies opt out: dataUploadMaxMemorySize = null, or their own http_request', async () => {
    const size = 50 * MiB
    const big = await start(BigUpload.asAsgi(), { reactor })
    expectWhole(await upload({ port: big.port, size }), size)
    const streaming = await start(Streaming.asAsgi(), { reactor })
    expectWhole(await upload({ port: streaming.port, size }), size)
  })

  it('DATA_UPLOAD_MAX_MEMORY_SIZE = null disables the limit; a number sets it', async () => {
    const { port } = await start(Digest.asAsgi(), { reactor })
    await overrideSettings({ DATA_UPLOAD_MAX_MEMORY_SIZE: null }, async () => {
      expectWhole(await upload({ port, size: 20 * MiB }), 20 * MiB)
    })
    await overrideSettings({ DATA_UPLOAD_MAX_MEMORY_SIZE: 1000 }, async () => {
      expectWhole(await upload({ port, size: 1000 }), 1000)
      expect((await upload({ port, size: 1001 })).response?.status).toBe(413)
      expect((await upload({ port, size: 1001, chunked: true })).response?.status).toBe(413)
    })
  })
})
