/**
 * Contract: HTTP requests and responses. Streamed bodies, Content-Length vs chunked framing,
 * backpressure, aborts in both directions.
 * @module
 */
import { describe, expect, it, vi } from 'vitest'
import type { ReactorName } from '../../../src/server/reactor/types.js'
import { connectRaw } from '../../helpers/ws-client.js'
import { bodyOf, collector, dechunk, headOf, readBody, type Harness } from './harness.js'

/** A body whose bytes depend on their position, so reordering or loss shows. */
function pattern(size: number, seed = 0): Buffer {
  const data = Buffer.alloc(size)
  for (let i = 0; i < size; i++) data[i] = (i * 7 + seed + (i >> 10)) & 0xff
  return data
}

export function httpContract(name: ReactorName, harness: () => Harness): void {
  describe('http', () => {
    it('streams a chunked request body to onData as it arrives, then answers with content-length', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write(
        'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      )
      raw.write('5\r\nhello\r\n')
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      const { request, response } = requests[0]!
      expect(request.method).toBe('POST')
      const seen: [string, boolean][] = []
      const done = new Promise<void>((resolve) =>
        response.onData((chunk, last) => {
          seen.push([Buffer.from(chunk).toString(), last])
          if (last) resolve()
        }),
      )
      await vi.waitFor(() => expect(seen).toEqual([['hello', false]]))
      raw.write('6\r\n world\r\n')
      await vi.waitFor(() => expect(seen).toHaveLength(2))
      raw.write('0\r\n\r\n')
      await done
      expect(seen.map(([text]) => text).join('')).toBe('hello world')
      expect(seen.at(-1)![1]).toBe(true)
      response.writeHead({
        status: 201,
        headers: [
          ['Content-Type', 'text/plain'],
          ['Content-Length', '2'],
        ],
      })
      response.end(Buffer.from('ok'))
      const data = await raw.closed
      expect(headOf(data)).toMatch(/^HTTP\/1\.1 201 Created\r\n/)
      expect(headOf(data)).toMatch(/\r\nContent-Length: 2(\r\n|$)/i)
      expect(headOf(data)).not.toMatch(/Transfer-Encoding/i)
      expect(bodyOf(data).toString()).toBe('ok')
    })

    it('keeps body chunks that arrive before the server subscribes', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write(
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789',
      )
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      await new Promise((resolve) => setTimeout(resolve, 50)) // let the body land unobserved
      const { body } = await readBody(requests[0]!.response)
      expect(body.toString()).toBe('0123456789')
      requests[0]!.response.end()
      raw.destroy()
    })

    it('gives a body-less request one empty last chunk', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      const { chunks } = await readBody(requests[0]!.response)
      expect(chunks.map((c) => c.byteLength)).toEqual([0])
      requests[0]!.response.end()
      raw.destroy()
    })

    it('copies body chunks: a held chunk survives later chunks', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nAAAA\r\n')
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      const held: Uint8Array[] = []
      requests[0]!.response.onData((chunk) => held.push(chunk))
      await vi.waitFor(() => expect(held).toHaveLength(1))
      raw.write('4\r\nBBBB\r\n0\r\n\r\n')
      await vi.waitFor(() => expect(held.length).toBeGreaterThanOrEqual(2))
      await new Promise((resolve) => setImmediate(resolve))
      expect(Buffer.from(held[0]!).toString()).toBe('AAAA')
      requests[0]!.response.end()
      raw.destroy()
    })

    it('sends a chunked response when no content-length is given', async () => {
      const listener = await harness().listen({
        onRequest(_request, response) {
          response.writeHead({
            status: 200,
            headers: [
              ['Content-Type', 'text/plain'],
              ['X-Custom', 'yes'],
            ],
          })
          setTimeout(() => {
            response.write(Buffer.from('first,'))
            response.cork(() => {
              response.write(Buffer.from('second,'))
              response.end(Buffer.from('third'))
            })
          }, 10)
        },
      })
      const raw = await connectRaw(listener.port)
      raw.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      const data = await raw.until((d) => d.includes('\r\n0\r\n\r\n'))
      expect(headOf(data)).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
      expect(headOf(data)).toMatch(/\r\nTransfer-Encoding: chunked/i)
      expect(headOf(data)).toMatch(/\r\nX-Custom: yes/)
      expect(dechunk(bodyOf(data)).toString()).toBe('first,second,third')
      raw.destroy()
    })

    it('writes a custom reason phrase and byte header values', async () => {
      const listener = await harness().listen({
        onRequest(_request, response) {
          response.writeHead({
            status: 418,
            reason: 'Short And Stout',
            headers: [['X-Bytes', Buffer.from('v1')]],
          })
          response.end()
        },
      })
      const raw = await connectRaw(listener.port)
      raw.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      const data = await raw.until((d) => d.includes('\r\n\r\n'))
      expect(headOf(data)).toMatch(/^HTTP\/1\.1 418 Short And Stout\r\n/)
      expect(headOf(data)).toMatch(/\r\nX-Bytes: v1/)
      raw.destroy()
    })

    it('neutralises CR/LF in header values and reason (no response splitting), like Twisted', async () => {
      const listener = await harness().listen({
        onRequest(_request, response) {
          response.writeHead({
            status: 200,
            reason: 'OK\r\nInjected-Status: 1',
            headers: [
              ['X-Evil', 'a\r\nInjected: yes'],
              ['X-Bytes', Buffer.from('b\nInjected-Too: yes')],
              ['X-Latin', 'caf\xe9'],
            ],
          })
          response.end(Buffer.from('body'))
        },
      })
      const raw = await connectRaw(listener.port)
      raw.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      const data = await raw.closed
      const lines = headOf(data).split('\r\n')
      expect(lines[0]).toBe('HTTP/1.1 200 OK Injected-Status: 1')
      expect(lines).toContain('X-Evil: a Injected: yes')
      expect(lines).toContain('X-Bytes: b Injected-Too: yes')
      expect(lines).toContain('X-Latin: caf\xe9') // one byte 0xE9 on the wire, read as latin-1
      expect(lines.filter((line) => /^Injected/i.test(line))).toEqual([])
      raw.destroy()
    })

    it("honours the app's Connection: close once, without corrupting a streamed body", async () => {
      const listener = await harness().listen({
        onRequest(request, response) {
          response.writeHead({ status: 200, headers: [['Connection', 'close']] })
          if (request.url === '/stream') response.write(Buffer.from('aa'))
          response.end(Buffer.from('x'))
        },
      })
      const single = await connectRaw(listener.port)
      single.write('GET /single HTTP/1.1\r\nHost: x\r\n\r\n')
      const data = await single.closed
      expect(headOf(data).match(/^Connection:/gim)).toHaveLength(1)
      expect(bodyOf(data).toString()).toBe('x')
      const stream = await connectRaw(listener.port)
      stream.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n')
      const streamed = await stream.until((d) => d.toString().endsWith('\r\n0\r\n\r\n'))
      expect(headOf(streamed).match(/^Connection:/gim)).toHaveLength(1)
      expect(dechunk(bodyOf(streamed)).toString()).toBe('aax')
      stream.destroy()
    })

    it('refuses a header name that is not a token with a TypeError, leaving the response usable', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      const { response } = requests[0]!
      expect(() => response.writeHead({ status: 200, headers: [['Bad Name', 'x']] })).toThrow(
        TypeError,
      )
      expect(() => response.writeHead({ status: 200, headers: [['X\r\nY', 'x']] })).toThrow(
        TypeError,
      )
      response.writeHead({ status: 500, headers: [] })
      response.end(Buffer.from('error'))
      const data = await raw.closed
      expect(headOf(data)).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/)
    })

    it('sends no body for HEAD and 204, keeping a declared HEAD length', async () => {
      const listener = await harness().listen({
        onRequest(request, response) {
          if (request.method === 'HEAD') {
            response.writeHead({ status: 200, headers: [['Content-Length', '1234']] })
            response.end(Buffer.from('ignored'))
          } else {
            response.writeHead({ status: 204, headers: [] })
            response.end()
          }
        },
      })
      const raw = await connectRaw(listener.port)
      raw.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n')
      const head = await raw.until((d) => d.includes('\r\n\r\n'))
      expect(headOf(head)).toMatch(/\r\nContent-Length: 1234/i)
      raw.write('DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      const data = await raw.until(
        (d) => d.indexOf('HTTP/1.1 204') > 0 && d.toString().endsWith('\r\n\r\n'),
      )
      const second = data.subarray(data.indexOf('HTTP/1.1 204'))
      expect(second.toString()).not.toMatch(/Content-Length|Transfer-Encoding/i)
      expect(bodyOf(head).toString()).not.toContain('ignored')
      raw.destroy()
    })

    for (const mode of ['chunked', 'content-length'] as const) {
      it(`reports backpressure and calls onWritable once drained (${mode})`, async () => {
        const total = 48 * 1024 * 1024
        const body = pattern(total, mode.length)
        const log: string[] = []
        const listener = await harness().listen({
          onRequest(_request, response) {
            const headers: [string, string][] =
              mode === 'content-length' ? [['Content-Length', String(total)]] : []
            response.writeHead({ status: 200, headers })
            let offset = 0
            const pump = () => {
              while (offset < total) {
                const chunk = body.subarray(offset, offset + 1024 * 1024)
                offset += chunk.byteLength
                if (!response.write(chunk)) {
                  log.push('full')
                  response.onWritable(() => {
                    log.push('writable')
                    pump()
                  })
                  return
                }
              }
              response.end()
              log.push('end')
            }
            setTimeout(pump, 0)
          },
        })
        const raw = await connectRaw(listener.port)
        raw.socket.pause()
        // Count bytes as they come (re-joining 48 MiB on every chunk would be quadratic).
        const parts: Buffer[] = []
        let size = 0
        raw.socket.on('data', (chunk: Buffer) => {
          parts.push(chunk)
          size += chunk.byteLength
        })
        raw.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        await vi.waitFor(() => expect(log).toContain('full'))
        raw.socket.resume()
        await vi.waitFor(() => expect(log.at(-1)).toBe('end'), 30_000)
        await vi.waitFor(() => {
          const tail = parts.at(-1)?.subarray(-5).toString()
          expect(mode === 'chunked' ? tail === '0\r\n\r\n' : size >= total).toBe(true)
        }, 30_000)
        expect(log).toContain('writable')
        const data = Buffer.concat(parts)
        const received = mode === 'chunked' ? dechunk(bodyOf(data)) : bodyOf(data)
        expect(received.byteLength).toBe(total)
        expect(received.equals(body)).toBe(true)
        raw.destroy()
      }, 60_000)
    }

    it('calls onWritable when the last declared bytes drain (one big write)', async () => {
      const total = 32 * 1024 * 1024
      const body = pattern(total, 3)
      const log: string[] = []
      const listener = await harness().listen({
        onRequest(_request, response) {
          response.writeHead({ status: 200, headers: [['Content-Length', String(total)]] })
          setTimeout(() => {
            if (response.write(body)) log.push('sent')
            else {
              log.push('full')
              response.onWritable(() => {
                log.push('writable')
                response.end()
              })
            }
          }, 0)
        },
      })
      const raw = await connectRaw(listener.port)
      raw.socket.pause()
      let size = 0
      raw.socket.on('data', (chunk: Buffer) => (size += chunk.byteLength))
      raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      await vi.waitFor(() => expect(log).toEqual(['full']))
      raw.socket.resume()
      await vi.waitFor(() => expect(log).toEqual(['full', 'writable']), 30_000)
      await vi.waitFor(() => expect(size).toBeGreaterThan(total), 30_000)
      raw.destroy()
    }, 60_000)

    it('answers pipelined requests in order (uWS: drops the connection)', async () => {
      const aborted: string[] = []
      const listener = await harness().listen({
        onRequest(request, response) {
          response.onAborted(() => aborted.push(request.url))
          const answer = () => {
            response.writeHead({ status: 200, headers: [['Content-Length', '4']] })
            response.end(Buffer.from(request.url.slice(1, 5)))
          }
          if (request.url === '/slow') setTimeout(answer, 50)
          else answer()
        },
      })
      const raw = await connectRaw(listener.port)
      const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`
      raw.write(get('/now1') + get('/now2') + get('/slow') + get('/last'))
      const bodies = (data: Buffer) =>
        [...data.toString().matchAll(/\r\n\r\n(\w{4})/g)].map((m) => m[1])
      if (name === 'node') {
        const data = await raw.until((d) => d.toString().endsWith('last'))
        expect(bodies(data)).toEqual(['now1', 'now2', 'slow', 'last'])
      } else {
        // uWS 20.30 closes a connection that sends a request while one is still pending (the
        // answers it already corked for earlier requests are lost with it).
        const data = await raw.closed
        expect(bodies(data)).not.toContain('slow')
        expect(aborted).toEqual(['/slow'])
      }
      raw.destroy()
    })

    it('calls onAborted when the client goes away mid-request', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial')
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      let aborted = 0
      requests[0]!.response.onAborted(() => aborted++)
      raw.destroy()
      await vi.waitFor(() => expect(aborted).toBe(1))
      // Writes after the abort are harmless no-ops.
      requests[0]!.response.writeHead({ status: 200, headers: [] })
      expect(requests[0]!.response.write(Buffer.from('late'))).toBe(true)
      requests[0]!.response.end()
    })

    it('onAborted registered after the client left still fires', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      raw.destroy()
      await new Promise((resolve) => setTimeout(resolve, 100))
      const aborted = await new Promise<boolean>((resolve) =>
        requests[0]!.response.onAborted(() => resolve(true)),
      )
      expect(aborted).toBe(true)
    })

    it('abort() drops a streamed response without telling onAborted', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      const { response } = requests[0]!
      let aborted = false
      response.onAborted(() => (aborted = true))
      response.writeHead({ status: 200, headers: [] })
      response.write(Buffer.from('partial'))
      response.abort()
      const data = await raw.closed
      expect(data.toString()).not.toMatch(/\r\n0\r\n\r\n$/)
      expect(aborted).toBe(false)
    })

    it('drops a response that ends short of its declared content-length', async () => {
      const listener = await harness().listen({
        onRequest(_request, response) {
          response.writeHead({ status: 200, headers: [['Content-Length', '10']] })
          response.end(Buffer.from('short'))
        },
      })
      const raw = await connectRaw(listener.port)
      raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      const data = await raw.closed
      expect(bodyOf(data).byteLength).toBeLessThan(10)
    })
  })
}
