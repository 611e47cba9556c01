/**
 * Contract: listening. TCP on port 0 (v4 and v6), unix sockets (mode, Twisted lockfile), TLS,
 * busy ports, signals and stop().
 * @module
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ReactorName } from '../../../src/server/reactor/types.js'
import { makeSelfSignedCert, type SelfSignedCert } from '../../helpers/tls.js'
import { connectRaw, openClient } from '../../helpers/ws-client.js'
import { collector, recordSocket, type Harness } from './harness.js'

/** GET over node's client; resolves with status, headers and body. */
export function get(
  options: http.RequestOptions & { tls?: boolean; ca?: Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const { tls, ...rest } = options
    const request = (tls ? https : http).request({ agent: false, ...rest }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    request.on('error', reject)
    request.end()
  })
}

/** A handler answering `text` with a content-length. */
function answer(text: string) {
  return {
    onRequest(
      _request: unknown,
      response: import('../../../src/server/reactor/types.js').HttpResponder,
    ) {
      response.writeHead({ status: 200, headers: [['Content-Type', 'text/plain']] })
      response.end(Buffer.from(text))
    },
  }
}

/** A pid that existed and is now gone (a child that already exited). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.on('exit', resolve))
  return child.pid!
}

/** Leave a socket file with no listener behind (a crashed server's leftover). */
async function staleSocket(file: string): Promise<void> {
  const script =
    `require('net').createServer()` +
    `.listen(${JSON.stringify(file)}, () => process.kill(process.pid, 'SIGKILL'))`
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' })
  await new Promise((resolve) => child.on('exit', resolve))
  expect(fs.statSync(file).isSocket()).toBe(true)
}

export function listenContract(name: ReactorName, harness: () => Harness): void {
  describe('listen', () => {
    let dir = ''
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `reactor-${name}-`))
    })
    afterEach(() => {
      fs.rmSync(dir, { recursive: true, force: true })
    })

    it('reports the real port for tcp port 0 and serves on it', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen({
        onRequest: (request, response) => {
          handlers.onRequest(request, response)
          answer('tcp').onRequest(request, response)
        },
      })
      expect(listener.address).toEqual({ kind: 'tcp', host: '127.0.0.1', port: listener.port })
      expect(listener.port).toBeGreaterThan(0)
      const res = await get({ host: '127.0.0.1', port: listener.port, path: '/p?q=1' })
      expect(res).toMatchObject({ status: 200, body: 'tcp' })
      const { request } = requests[0]!
      expect(request).toMatchObject({
        method: 'GET',
        url: '/p?q=1',
        httpVersion: '1.1',
        tls: false,
      })
      expect(request.remote?.host).toBe('127.0.0.1')
      expect(request.local).toMatchObject({ port: listener.port })
    })

    it('keeps header order, duplicates and lower-cases names', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      raw.write('GET /h HTTP/1.1\r\nHost: x\r\nX-Dup: 1\r\nX-Other: a\r\nX-DUP: 2\r\n\r\n')
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      expect(requests[0]!.request.headers).toEqual([
        'host',
        'x',
        'x-dup',
        '1',
        'x-other',
        'a',
        'x-dup',
        '2',
      ])
      raw.destroy()
    })

    it('decodes non-ASCII header values as latin-1, byte for byte', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(handlers)
      const raw = await connectRaw(listener.port)
      // (Raw non-ASCII in the request target: node answers 400, uWS decodes it as UTF-8.)
      const head =
        'GET /caf%C3%A9/ HTTP/1.1\r\nHost: x\r\n' +
        'X-Lat: caf\xe9 x\r\nX-U: a\xc3\xa9b\r\nX-U: c\xc3\xa9d\r\n\r\n'
      raw.write(Buffer.from(head, 'latin1'))
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      const { request } = requests[0]!
      expect(request.url).toBe('/caf%C3%A9/')
      expect(request.headers.slice(2)).toEqual([
        'x-lat',
        'caf\xe9 x',
        'x-u',
        'a\xc3\xa9b',
        'x-u',
        'c\xc3\xa9d',
      ])
      raw.destroy()
    })

    it('reports client addresses on an all-interfaces listener as plain IPv4 or IPv6', async () => {
      const { requests, handlers } = collector()
      const listener = await harness().listen(
        {
          onRequest: (request, response) => {
            handlers.onRequest(request, response)
            answer('any').onRequest(request, response)
          },
        },
        { kind: 'tcp', host: '', port: 0 },
      )
      expect(listener.address).toMatchObject({ kind: 'tcp', host: '' })
      await get({ host: '127.0.0.1', port: listener.port, path: '/' })
      await get({ host: '::1', port: listener.port, path: '/' })
      expect(requests.map((r) => r.request.remote?.host)).toEqual(['127.0.0.1', '::1'])
    })

    it('listens on an IPv6 host', async () => {
      const listener = await harness().listen(answer('v6'), { kind: 'tcp', host: '::1', port: 0 })
      expect(listener.address).toMatchObject({ kind: 'tcp', host: '::1' })
      const res = await get({ host: '::1', port: listener.port, path: '/' })
      expect(res.body).toBe('v6')
    })

    it('rejects a busy port with a clear error instead of crashing', async () => {
      const blocker = net.createServer()
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
      const port = (blocker.address() as net.AddressInfo).port
      try {
        const attempt = harness().listen({}, { kind: 'tcp', host: '127.0.0.1', port })
        await expect(attempt).rejects.toThrow(/address already in use/)
        await expect(attempt).rejects.toMatchObject({ code: 'EADDRINUSE' })
      } finally {
        await new Promise((resolve) => blocker.close(resolve))
      }
    })

    it('serves a unix socket with its mode and a PATH.lock naming our pid', async () => {
      const file = path.join(dir, 's.sock')
      const { requests, handlers } = collector()
      const listener = await harness().listen(
        {
          onRequest: (request, response) => {
            handlers.onRequest(request, response)
            answer('unix').onRequest(request, response)
          },
        },
        { kind: 'unix', path: file, mode: 0o600, lockfile: true },
      )
      expect(listener.address).toEqual({ kind: 'unix', path: file })
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      expect(fs.readlinkSync(`${file}.lock`)).toBe(String(process.pid))
      const res = await get({ socketPath: file, path: '/' })
      expect(res.body).toBe('unix')
      expect(requests[0]!.request.remote).toBeNull()
      expect(requests[0]!.request.local).toBeNull()
      await listener.close()
      expect(fs.existsSync(file)).toBe(false)
      expect(fs.existsSync(`${file}.lock`)).toBe(false)
    })

    it('refuses a unix path whose lock a live process holds', async () => {
      const file = path.join(dir, 'live.sock')
      fs.symlinkSync(String(process.ppid), `${file}.lock`)
      await expect(
        harness().listen({}, { kind: 'unix', path: file, lockfile: true }),
      ).rejects.toThrow(/Cannot acquire lock/)
      expect(fs.readlinkSync(`${file}.lock`)).toBe(String(process.ppid))
    })

    it('breaks a stale lock and removes the stale socket it guarded', async () => {
      const file = path.join(dir, 'stale.sock')
      await staleSocket(file)
      fs.symlinkSync(String(await deadPid()), `${file}.lock`)
      const listener = await harness().listen(answer('fresh'), {
        kind: 'unix',
        path: file,
        lockfile: true,
      })
      expect(fs.readlinkSync(`${file}.lock`)).toBe(String(process.pid))
      expect((await get({ socketPath: file, path: '/' })).body).toBe('fresh')
      await listener.close()
    })

    it('refuses an existing path when no lock vouches for removing it', async () => {
      const file = path.join(dir, 'taken.sock')
      await staleSocket(file)
      await expect(
        harness().listen({}, { kind: 'unix', path: file, lockfile: false }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' })
      // A clean lock (none before) does not license removing the file either (Twisted).
      await expect(
        harness().listen({}, { kind: 'unix', path: file, lockfile: true }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' })
      expect(fs.existsSync(`${file}.lock`)).toBe(false)
      expect(fs.statSync(file).isSocket()).toBe(true)
    })

    it('rejects a unix path in a missing directory, for either lockfile setting', async () => {
      for (const lockfile of [true, false]) {
        const file = path.join(dir, 'missing', 'x.sock')
        const attempt = harness().listen({}, { kind: 'unix', path: file, lockfile })
        await expect(attempt).rejects.toThrow(/Cannot listen on unix:.*no such directory/)
        await expect(attempt).rejects.toMatchObject({ code: 'ENOENT' })
      }
    })

    describe('ssl', () => {
      let cert: SelfSignedCert
      beforeEach(async () => {
        cert = await makeSelfSignedCert()
      })
      afterEach(async () => {
        await cert.cleanup()
      })

      it('serves HTTPS and WSS with a self-signed certificate', async () => {
        const { requests, handlers } = collector()
        const socket = recordSocket({ echo: true })
        const listener = await harness().listen(
          {
            onRequest: (request, response) => {
              handlers.onRequest(request, response)
              answer('secure').onRequest(request, response)
            },
            onUpgrade: (_request, _protocols, upgrade) => upgrade.accept({}, socket.handlers),
          },
          {
            kind: 'ssl',
            host: '127.0.0.1',
            port: 0,
            privateKey: cert.keyPath,
            certKey: cert.certPath,
          },
        )
        expect(listener.address).toMatchObject({ kind: 'ssl', host: '127.0.0.1' })
        const ca = fs.readFileSync(cert.certPath)
        const res = await get({ tls: true, ca, host: '127.0.0.1', port: listener.port, path: '/' })
        expect(res.body).toBe('secure')
        expect(requests[0]!.request.tls).toBe(true)
        const client = await openClient(`wss://127.0.0.1:${listener.port}/`, undefined, { ca })
        client.send('over tls')
        expect(await client.next()).toBe('over tls')
        client.close()
        await client.closed
      })

      it('rejects clearly when the key file is missing', async () => {
        await expect(
          harness().listen(
            {},
            {
              kind: 'ssl',
              host: '127.0.0.1',
              port: 0,
              privateKey: path.join(dir, 'missing.pem'),
              certKey: cert.certPath,
            },
          ),
        ).rejects.toThrow(/missing\.pem/)
      })
    })

    it('stops accepting after Listener.close()', async () => {
      const listener = await harness().listen(answer('x'))
      await listener.close()
      await expect(get({ host: '127.0.0.1', port: listener.port, path: '/' })).rejects.toThrow(
        /ECONNREFUSED/,
      )
    })

    it('stop() ends open WebSockets, pending requests and idle keep-alive connections', async () => {
      const socket = recordSocket()
      const { requests, handlers } = collector()
      const listener = await harness().listen({
        onRequest: handlers.onRequest,
        onUpgrade: (_request, _protocols, upgrade) => upgrade.accept({}, socket.handlers),
      })
      const client = await openClient(`ws://127.0.0.1:${listener.port}/`)
      const pending = await connectRaw(listener.port)
      pending.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
      await vi.waitFor(() => expect(requests).toHaveLength(1))
      let aborted = false
      requests[0]!.response.onAborted(() => (aborted = true))
      const idle = await connectRaw(listener.port)
      await harness().reactor.stop()
      expect((await client.closed).code).toBe(1006)
      expect(socket.closes()).toEqual([{ code: 1006, reason: expect.any(String) }])
      await pending.closed
      expect(aborted).toBe(true)
      await idle.closed
    })

    it('delivers subscribed signals until unsubscribed', () => {
      const seen: string[] = []
      const off = harness().reactor.onSignal(['SIGUSR2'], (signal) => seen.push(signal))
      process.emit('SIGUSR2', 'SIGUSR2')
      off()
      off()
      process.emit('SIGUSR2', 'SIGUSR2')
      expect(seen).toEqual(['SIGUSR2'])
    })
  })
}
