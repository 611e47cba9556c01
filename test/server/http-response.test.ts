// Daphne tests/test_http_response.py plus Daphne's response rules.
import { describe, expect, it } from 'vitest'
import { ValueError } from '../../src/framework/asgi/errors.js'
import type { AccessEvent } from '../../src/server/index.js'
import type { Send } from '../../src/framework/asgi/types.js'
import { recordingHttpApp } from '../helpers/asgi-apps.js'
import { REACTORS, useLogRecords, useServers } from '../helpers/with-server.js'
import { connectRaw, rawHttp } from '../helpers/ws-client.js'

const b = (s: string) => Buffer.from(s)

function respondWith(run: (send: Send) => Promise<void>, errors: unknown[] = []) {
  return recordingHttpApp(async (_r, send) => {
    try {
      await run(send)
    } catch (error) {
      errors.push(error)
      throw error
    }
  })
}

describe.each(REACTORS)('HTTP responses on the %s reactor', (reactor) => {
  const start = useServers()
  const logs = useLogRecords()

  it('test_minimal_response', async () => {
    const { url } = await start(
      respondWith(async (send) => {
        await send({ type: 'http.response.start', status: 200 })
        await send({ type: 'http.response.body', body: b('hello world') })
      }),
      { reactor },
    )
    const response = await fetch(url)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('hello world')
    expect(response.headers.get('server')).toBe('channels-ts')
  })

  it('test_status_code_required: ValueError out of send(), then a 500 page', async () => {
    const errors: unknown[] = []
    const { url } = await start(
      respondWith(async (send) => send({ type: 'http.response.start' } as never), errors),
      { reactor },
    )
    const response = await fetch(url)
    expect(response.status).toBe(500)
    expect(errors[0]).toBeInstanceOf(ValueError)
    expect((errors[0] as Error).message).toBe(
      'Specifying a status code is required for a Response message.',
    )
    expect(
      logs.some(
        (r) =>
          r.level === 'error' && r.message.startsWith('Exception inside application: Specifying'),
      ),
    ).toBe(true)
  })

  it('test_custom_status_code', async () => {
    const { url } = await start(
      respondWith(async (send) => {
        await send({ type: 'http.response.start', status: 201 })
        await send({ type: 'http.response.body', body: b('i made a thing!') })
      }),
      { reactor },
    )
    const response = await fetch(url)
    expect(response.status).toBe(201)
    expect(await response.text()).toBe('i made a thing!')
  })

  it('test_chunked_response', async () => {
    const { url } = await start(
      respondWith(async (send) => {
        await send({ type: 'http.response.start', status: 201 })
        await send({ type: 'http.response.body', body: b('hello '), more_body: true })
        await send({ type: 'http.response.body', body: b('world') })
      }),
      { reactor },
    )
    expect(await (await fetch(url)).text()).toBe('hello world')
  })

  it('test_chunked_response_empty', async () => {
    const { url } = await start(
      respondWith(async (send) => {
        await send({ type: 'http.response.start', status: 201 })
        await send({ type: 'http.response.body', body: b('hello '), more_body: true })
        await send({ type: 'http.response.body', body: b('world'), more_body: true })
        await send({ type: 'http.response.body' })
      }),
      { reactor },
    )
    expect(await (await fetch(url)).text()).toBe('hello world')
  })

  it('test_body: arbitrary bytes round-trip', async () => {
    const body = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256))
    const { url } = await start(
      respondWith(async (send) => {
        await send({ type: 'http.response.start', status: 200 })
        await send({ type: 'http.response.body', body })
      }),
      { reactor },
    )
    expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(body)
  })

  it('test_headers: what the app sends, plus Server', async () => {
    const { url } = await start(
      respondWith(async (send) => {
        await send({
          type: 'http.response.start',
          status: 200,
          headers: [
            [b('x-one'), b('1')],
            [b('Set-Cookie'), b('a=1')],
            [b('Set-Cookie'), b('b=2')],
            ['x-string', 'strings are accepted'] as never,
          ],
        })
        await send({ type: 'http.response.body', body: b('') })
      }),
      { reactor },
    )
    const response = await fetch(url)
    expect(response.headers.get('x-one')).toBe('1')
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(response.headers.get('x-string')).toBe('strings are accepted')
    expect(response.headers.get('server')).toBe('channels-ts')
  })

  it('sends no Server header when serverName is empty, and keeps an app Server header', async () => {
    const app = respondWith(async (send) => {
      await send({ type: 'http.response.start', status: 200 })
      await send({ type: 'http.response.body', body: b('') })
    })
    const quiet = await start(app, { reactor, serverName: '' })
    expect((await fetch(quiet.url)).headers.get('server')).toBeNull()
    const own = await start(
      respondWith(async (send) => {
        await send({
          type: 'http.response.start',
          status: 200,
          headers: [[b('server'), b('mine')]],
        })
        await send({ type: 'http.response.body', body: b('') })
      }),
      { reactor },
    )
    expect((await fetch(own.url)).headers.get('server')).toBe('mine')
  })

  it('test_headers_type: wrong header types raise ValueError naming what was given', async () => {
    const errors: unknown[] = []
    const { url } = await start(
      respondWith(
        async (send) =>
          send({ type: 'http.response.start', status: 200, headers: [[b('foo'), true]] } as never),
        errors,
      ),
      { reactor },
    )
    const response = await fetch(url)
    expect(response.status).toBe(500)
    expect(await response.text()).toContain('500 Internal Server Error')
    expect((errors[0] as Error).message).toBe(
      "Header value 'true' expected to be a Uint8Array or a string, but got a boolean.",
    )
    const other = await start(
      respondWith(
        async (send) =>
          send({ type: 'http.response.start', status: 200, headers: [[42, b('x')]] } as never),
        errors,
      ),
      { reactor },
    )
    await fetch(other.url)
    expect((errors[1] as Error).message).toBe(
      "Header name '42' expected to be a Uint8Array or a string, but got a number.",
    )
  })

  it('refuses a body that is not bytes with a ValueError naming what was given', async () => {
    const errors: unknown[] = []
    const { url } = await start(
      respondWith(async (send) => {
        await send({ type: 'http.response.start', status: 200 })
        await send({ type: 'http.response.body', body: 'text' } as never)
      }, errors),
      { reactor },
    )
    await (await fetch(url)).text()
    expect((errors[0] as Error).message).toBe('Body expected to be a Uint8Array, but got a string.')
  })

  it('test_headers_type_raw: a 500 status line over a raw socket', async () => {
    const { port } = await start(
      respondWith(async (send) =>
        send({ type: 'http.response.start', status: 200, headers: [[b('foo'), 1]] } as never),
      ),
      { reactor },
    )
    const raw = (await rawHttp(port, 'GET', '/')).toString('latin1')
    expect(raw).toMatch(/^HTTP\/1\.1 500 Internal Server Error/)
  })

  it('refuses header injection in response headers', async () => {
    const errors: unknown[] = []
    const { url } = await start(
      respondWith(
        async (send) =>
          send({
            type: 'http.response.start',
            status: 200,
            headers: [[b('x'), b('a\r\nInjected: 1')]],
          }),
        errors,
      ),
      { reactor },
    )
    const response = await fetch(url)
    expect(response.status).toBe(500)
    expect(response.headers.get('injected')).toBeNull()
    expect(errors[0]).toBeInstanceOf(ValueError)
  })

  it('raises Daphne errors for a second start, a body before start and unknown types', async () => {
    const errors: string[] = []
    const app = recordingHttpApp(async (_r, send) => {
      for (const attempt of [
        () => send({ type: 'http.response.body', body: b('x') }),
        () => send({ type: 'nope' } as never),
        () => send({} as never),
      ]) {
        await attempt().catch((e: unknown) => errors.push((e as Error).message))
      }
      await send({ type: 'http.response.start', status: 200 })
      await send({ type: 'http.response.start', status: 200 }).catch((e: unknown) =>
        errors.push((e as Error).message),
      )
      await send({ type: 'http.response.body', body: b('fine') })
      await send({ type: 'http.response.body', body: b('late') }).catch((e: unknown) =>
        errors.push((e as Error).message),
      )
    })
    const { url } = await start(app, { reactor })
    expect(await (await fetch(url)).text()).toBe('fine')
    await expect.poll(() => errors.length).toBe(5)
    expect(errors).toEqual([
      'HTTP response has not yet been started but got http.response.body',
      'Cannot handle message type nope!',
      'Message has no type defined',
      'HTTP response has already been started',
      "Unexpected ASGI message 'http.response.body' sent, after response already completed.",
    ])
  })

  it.each([
    ['HEAD', 200],
    ['GET', 204],
    ['GET', 304],
  ])('%s with status %i sends no body', async (method, status) => {
    const { port } = await start(
      respondWith(async (send) => {
        await send({ type: 'http.response.start', status })
        await send({ type: 'http.response.body', body: b('should not be sent') })
      }),
      { reactor },
    )
    const raw = (await rawHttp(port, method, '/', [], 2_000)).toString('latin1')
    expect(raw).toMatch(new RegExp(`^HTTP/1\\.[01] ${status}`))
    expect(raw).not.toContain('should not be sent')
  })

  it('an exception before the response → 500 page; after start → the stream is aborted', async () => {
    const before = await start(
      respondWith(async () => {
        throw new Error('boom')
      }),
      { reactor },
    )
    const response = await fetch(before.url)
    expect(response.status).toBe(500)
    const page = await response.text()
    expect(page).toContain('<title>500 Internal Server Error</title>')
    expect(page).toContain('<p>Exception inside application.</p>')
    expect(page).toContain('<footer>channels-ts</footer>')
    const errorLog = logs.find((r) => r.message === 'Exception inside application: boom')
    expect(errorLog?.level).toBe('error')
    expect((errorLog?.error as Error).stack).toContain('boom')

    const after = await start(
      respondWith(async (send) => {
        await send({ type: 'http.response.start', status: 200 })
        await send({ type: 'http.response.body', body: b('partial'), more_body: true })
        throw new Error('midway')
      }),
      { reactor },
    )
    const connection = await connectRaw(after.port)
    connection.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    const raw = (await connection.closed).toString('latin1')
    // The connection ends without the terminating chunk (what was flushed before is up to the reactor).
    expect(raw).not.toMatch(/\r\n0\r\n\r\n$/)
    // The server keeps serving (no checker-loop death).
    expect((await fetch(before.url)).status).toBe(500)
    await expect.poll(() => after.server.connectionCount).toBe(0)
  })

  it('an app that returns without responding gets a 500 (logged), never a hang', async () => {
    const { url, server } = await start(
      respondWith(async () => undefined),
      { reactor },
    )
    expect((await fetch(url)).status).toBe(500)
    expect(logs.some((r) => r.message.includes('returned without completing the response'))).toBe(
      true,
    )
    await expect.poll(() => server.connectionCount).toBe(0)
  })

  it('http_timeout: 503 page when the app never starts a response', async () => {
    const { url, server } = await start(
      respondWith(() => new Promise(() => undefined)),
      {
        reactor,
        httpTimeout: 100,
        applicationCloseTimeout: 100,
      },
    )
    const response = await fetch(url)
    expect(response.status).toBe(503)
    expect(await response.text()).toContain('Application failed to respond within time limit.')
    // The hung app is killed after applicationCloseTimeout.
    await expect.poll(() => server.connectionCount).toBe(0)
    expect(
      logs.some(
        (r) =>
          r.level === 'warn' && r.message.includes('took too long to shut down and was killed'),
      ),
    ).toBe(true)
  })

  it('emits a complete access event with status, size, client and duration', async () => {
    const events: AccessEvent[] = []
    const { url } = await start(recordingHttpApp(), { reactor, onAction: (e) => events.push(e) })
    await (await fetch(`${url}/scope/post?x=1`, { method: 'POST', body: 'abc' })).text()
    await expect.poll(() => events.length).toBe(1)
    expect(events[0]).toMatchObject({
      protocol: 'http',
      action: 'complete',
      method: 'POST',
      path: '/scope/post',
      rawPath: '/scope/post',
      query: 'x=1',
      status: 200,
      size: 2,
    })
    // uWS reports no peer port: the log shows the address alone, never `127.0.0.1:0`.
    const expected = reactor === 'uws' ? /^127\.0\.0\.1$/ : /^127\.0\.0\.1:[1-9]\d*$/
    expect(events[0]!.client).toMatch(expected)
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('backpressure: await send() waits for the reactor to drain, and every byte arrives', async () => {
    const chunk = Buffer.alloc(256 * 1024, 1)
    const { url } = await start(
      respondWith(async (send) => {
        await send({ type: 'http.response.start', status: 200 })
        for (let i = 0; i < 40; i++)
          await send({ type: 'http.response.body', body: chunk, more_body: true })
        await send({ type: 'http.response.body' })
      }),
      { reactor },
    )
    const body = Buffer.from(await (await fetch(url)).arrayBuffer())
    expect(body.byteLength).toBe(40 * chunk.byteLength)
  })
})

describe.each(REACTORS)('HTTP client aborts on the %s reactor', (reactor) => {
  const start = useServers()

  it('a client leaving mid-stream: http.disconnect is delivered and later sends are no-ops', async () => {
    const outcomes: unknown[] = []
    let proceed!: () => void
    const gate = new Promise<void>((resolve) => (proceed = resolve))
    const app = recordingHttpApp(async (_r, send, receive) => {
      await send({ type: 'http.response.start', status: 200 })
      await send({ type: 'http.response.body', body: b('first'), more_body: true })
      outcomes.push(await receive())
      await gate
      outcomes.push(
        await send({ type: 'http.response.body', body: b('into the void'), more_body: true }).then(
          () => 'ok',
        ),
      )
    })
    const { port, server } = await start(app, { reactor })
    const connection = await connectRaw(port)
    connection.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await connection.until((d) => d.includes('first'))
    connection.destroy()
    await expect.poll(() => outcomes[0]).toEqual({ type: 'http.disconnect' })
    proceed()
    await expect.poll(() => outcomes[1]).toBe('ok')
    await expect.poll(() => server.connectionCount).toBe(0)
  })
})
