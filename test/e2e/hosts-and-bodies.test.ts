/**
 * The built `channels` binary on a project with production settings, on both reactors:
 * ALLOWED_HOSTS applies to every HTTP request (`serve`, and `runserver`'s static files), and
 * DATA_UPLOAD_MAX_MEMORY_SIZE keeps a big upload from growing the server process: 413, the
 * connection closes, the server serves on.
 */
import { readFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { rawExchange } from '../helpers/ws-client.js'
import { upload } from '../helpers/upload-client.js'
import { ensureBuilt, spawnBin, type Spawned } from './helpers.js'
import { REACTORS } from '../helpers/with-server.js'

const LISTENING = /Listening on TCP address 127\.0\.0\.1:(\d+)/
const MiB = 1024 * 1024

const ROUTING = `
import { createHash } from 'node:crypto'
import { AsyncHttpConsumer, ProtocolTypeRouter } from 'channels-ts'

class Digest extends AsyncHttpConsumer {
  override async handle(body: Uint8Array): Promise<void> {
    const digest = createHash('sha256').update(body).digest('hex')
    await this.sendResponse(200, JSON.stringify({ size: body.byteLength, digest }))
  }
}

export const application = new ProtocolTypeRouter({ http: Digest.asAsgi() })
`

let dir: string | undefined
let server: Spawned | undefined
beforeAll(() => ensureBuilt(), 120_000)
afterEach(async () => {
  await server?.stop('SIGKILL')
  server = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

function project(settings: Record<string, unknown>): string {
  dir = mkdtempSync(join(tmpdir(), 'channels-e2e-hosts-'))
  const files: Record<string, string> = {
    'settings.ts': `export default ${JSON.stringify({
      DEBUG: false,
      ALLOWED_HOSTS: ['example.com'],
      SECRET_KEY: 'a-long-random-test-key-0123456789-abcdefghijklmnopqrstuvwxyz',
      ASGI_APPLICATION: 'site.routing.application',
      STATICFILES_DIRS: ['static'],
      ...settings,
    })}\n`,
    'site/routing.ts': ROUTING,
    'static/hello.txt': 'hello static\n',
  }
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    writeFileSync(join(dir, file), content)
  }
  return dir
}

async function serve(cwd: string, reactor: string): Promise<number> {
  server = spawnBin(['serve', '-p', '0', '--reactor', reactor], cwd)
  return Number((await server.waitForOutput(LISTENING))[1])
}

/** A raw request with exactly this Host header: status line and body. */
async function request(
  port: number,
  path: string,
  host: string,
): Promise<{ status: number; body: string }> {
  const head = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`
  const text = (await rawExchange(port, head)).toString('latin1')
  return { status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) }
}

/** Resident and peak resident memory of a process, in bytes (Linux). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024
  return { rss: kib('VmRSS'), peak: kib('VmHWM') }
}

describe.each(REACTORS)('ALLOWED_HOSTS through the CLI on %s', (reactor) => {
  it('serve: Host evil.com gets 400, example.com (any port) reaches the app', async () => {
    const port = await serve(project({}), reactor)
    const evil = await request(port, '/', 'evil.com')
    expect(evil.status).toBe(400)
    expect(evil.body).toContain('<h1>Bad Request (400)</h1>')
    await server!.waitForOutput(/Invalid HTTP_HOST header: 'evil\.com'/)
    expect((await request(port, '/', 'example.com')).status).toBe(200)
    expect((await request(port, '/', 'example.com:8000')).status).toBe(200)
  })

  it("runserver: static files are behind the same check; DEBUG's localhost rule", async () => {
    const cwd = project({})
    const args = ['runserver', '127.0.0.1:0', '--noreload', '--insecure', '--reactor', reactor]
    server = spawnBin(args, cwd)
    const match = await server.waitForOutput(/development server at http:\/\/127\.0\.0\.1:(\d+)\//)
    const port = Number(match[1])
    expect((await request(port, '/static/hello.txt', 'evil.com')).status).toBe(400)
    const good = await request(port, '/static/hello.txt', 'example.com')
    expect(good).toEqual({ status: 200, body: 'hello static\n' })
    await server.stop('SIGKILL')
    rmSync(cwd, { recursive: true, force: true })

    const debug = project({ DEBUG: true, ALLOWED_HOSTS: [] })
    server = spawnBin(['runserver', '127.0.0.1:0', '--noreload', '--reactor', reactor], debug)
    const again = await server.waitForOutput(/development server at http:\/\/127\.0\.0\.1:(\d+)\//)
    const debugPort = Number(again[1])
    for (const host of ['localhost', 'www.localhost:8000', '127.0.0.1', '[::1]:8000']) {
      expect((await request(debugPort, '/static/hello.txt', host)).status, host).toBe(200)
    }
    expect((await request(debugPort, '/static/hello.txt', 'example.com')).status).toBe(400)
  })
})

describe.each(REACTORS)('DATA_UPLOAD_MAX_MEMORY_SIZE through the CLI on %s', (reactor) => {
  it('a 50 MiB POST gets 413, the server process stays small and serves on', async () => {
    const port = await serve(project({}), reactor)
    const pid = server!.child.pid!
    // Warm up (bundled app loaded, first request served) before taking the baseline.
    expect((await upload({ port, host: 'example.com', size: 1024 })).response?.status).toBe(200)
    const before = memory(pid)
    const size = 50 * MiB
    for (const chunked of [false, true]) {
      const result = await upload({ port, host: 'example.com', size, chunked })
      expect(result.response?.status).toBe(413)
      expect(result.sent).toBeLessThan(size)
    }
    const small = await upload({ port, host: 'example.com', size: 2 * MiB })
    expect(small.response?.status).toBe(200)
    expect(JSON.parse(small.response!.body.toString())).toMatchObject({ size: 2 * MiB })
    // Loose: the 50 MiB bodies were never held; the 2 MiB one is.
    const after = memory(pid)
    expect(after.peak - before.rss).toBeLessThan(40 * MiB)
    await server!.waitForOutput(/Request body exceeded settings\.DATA_UPLOAD_MAX_MEMORY_SIZE/)
  })

  it('DATA_UPLOAD_MAX_MEMORY_SIZE: null lets a 50 MiB body through whole', async () => {
    const port = await serve(project({ DATA_UPLOAD_MAX_MEMORY_SIZE: null }), reactor)
    const size = 50 * MiB
    const result = await upload({ port, host: 'example.com', size })
    expect(result.response?.status).toBe(200)
    expect(JSON.parse(result.response!.body.toString())).toMatchObject({ size })
  })
})
