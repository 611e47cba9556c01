/**
 * The built `channels` binary on small projects that need nothing but the routing and settings
 * exports: module identity across generations, exit codes, signals, a busy port.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, httpGet, runBin, spawnBin, startRunserver, type Spawned } from './helpers.js'

let dir: string
let server: (Spawned & { port?: number }) | undefined
beforeAll(() => ensureBuilt(), 120_000)
afterEach(async () => {
  await server?.stop('SIGKILL')
  server = undefined
  rmSync(dir, { recursive: true, force: true })
})

function project(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'channels-e2e-cli-'))
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    writeFileSync(join(dir, file), content)
  }
  return dir
}

const SETTINGS =
  "export default { DEBUG: true, ASGI_APPLICATION: 'site.routing.application', CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } } }\n"

// Each generation reports whether its `channels-ts` is the instance generation 1 saw, whether
// the settings it reads are the ones the CLI configured, and whether the layer is the same.
const IDENTITY_APP = (label: string) => `
import { ProtocolTypeRouter, getSettings, getChannelLayer } from 'channels-ts'
const g = globalThis as any
g.firstRouter ??= ProtocolTypeRouter
g.firstLayer ??= getChannelLayer()
const report = async (_scope: unknown, _receive: unknown, send: (e: unknown) => Promise<void>) => {
  const body = JSON.stringify({
    label: ${JSON.stringify(label)},
    sameRouterClass: g.firstRouter === ProtocolTypeRouter,
    instanceOfFirst: application instanceof g.firstRouter,
    sameLayer: getChannelLayer() === g.firstLayer && getChannelLayer() !== null,
    baseDir: getSettings().BASE_DIR,
  })
  await send({ type: 'http.response.start', status: 200, headers: [] })
  await send({ type: 'http.response.body', body: Buffer.from(body) })
}
export const application = new ProtocolTypeRouter({ http: report })
`

describe('generations share the framework', () => {
  it('instanceof, settings and the channel layer hold across reloads', async () => {
    const cwd = project({ 'settings.ts': SETTINGS, 'site/routing.ts': IDENTITY_APP('one') })
    const running = await startRunserver(cwd)
    server = running
    const first = JSON.parse((await httpGet(running.port, '/')).body) as Record<string, unknown>
    expect(first).toEqual({
      label: 'one',
      sameRouterClass: true,
      instanceOfFirst: true,
      sameLayer: true,
      baseDir: cwd,
    })

    writeFileSync(join(cwd, 'site/routing.ts'), IDENTITY_APP('two'))
    await server.waitForOutput(/Reloaded in \d+ ms \(generation 2\)/)
    const second = JSON.parse((await httpGet(running.port, '/')).body) as Record<string, unknown>
    expect(second).toEqual({
      label: 'two',
      sameRouterClass: true,
      instanceOfFirst: true,
      sameLayer: true,
      baseDir: cwd,
    })
  })
})

describe('a project that fails to load at startup', () => {
  it('is reported, watched, and served once fixed (exit 1 with --noreload)', async () => {
    const cwd = project({
      'settings.ts': SETTINGS,
      'site/routing.ts': 'export const application = (\n',
    })
    const noreload = runBin(['runserver', '127.0.0.1:0', '--noreload'], cwd)
    expect(noreload.status).toBe(1)
    expect(noreload.stderr).toMatch(/site\/routing\.ts:\d+:\d+/)

    server = spawnBin(['runserver', '127.0.0.1:0'], cwd)
    await server.waitForOutput(/The server starts once the project loads; fix the error and save\./)
    expect(server.stdout()).not.toContain('development server at')
    writeFileSync(join(cwd, 'site/routing.ts'), IDENTITY_APP('fixed'))
    const match = await server.waitForOutput(/development server at http:\/\/127\.0\.0\.1:(\d+)\//)
    const res = await httpGet(Number(match[1]), '/')
    expect(JSON.parse(res.body)).toMatchObject({ label: 'fixed' })
  })
})

describe('process behaviour', () => {
  it('SIGINT and SIGTERM stop the server gracefully with exit code 0', async () => {
    const cwd = project({ 'settings.ts': SETTINGS, 'site/routing.ts': IDENTITY_APP('x') })
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const running = await startRunserver(cwd)
      expect((await httpGet(running.port, '/')).status).toBe(200)
      expect(await running.stop(signal)).toBe(0)
    }
  })

  it('a busy port: "Error: That port is already in use." and exit code 1', async () => {
    const cwd = project({ 'settings.ts': SETTINGS, 'site/routing.ts': IDENTITY_APP('x') })
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      for (const reactor of ['auto', 'node']) {
        const args = ['runserver', `127.0.0.1:${port}`, '--noreload', '--reactor', reactor]
        const result = runBin(args, cwd)
        expect(result.status).toBe(1)
        expect(result.stderr).toContain('Error: That port is already in use.')
      }
    } finally {
      blocker.close()
    }
  })

  it('DEBUG false with empty ALLOWED_HOSTS exits 1 with CommandError', () => {
    const cwd = project({
      // A real key: the system checks refuse an empty one with DEBUG off.
      'settings.ts':
        "export default { ASGI_APPLICATION: 'site.routing.application', " +
        `SECRET_KEY: '${'k3!'.repeat(20)}' }\n`,
      'site/routing.ts': IDENTITY_APP('x'),
    })
    const result = runBin(['runserver', '--noreload'], cwd)
    expect(result.status).toBe(1)
    expect(result.stderr).toContain(
      'CommandError: You must set settings.ALLOWED_HOSTS if DEBUG is False.',
    )
  })

  it('--version', () => {
    const cwd = project({})
    const result = runBin(['--version'], cwd)
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('serve runs the application from ASGI_APPLICATION and logs like Daphne', async () => {
    const cwd = project({ 'settings.ts': SETTINGS, 'site/routing.ts': IDENTITY_APP('served') })
    server = spawnBin(['serve', '-p', '0', '--access-log', '-'], cwd)
    const match = await server.waitForOutput(/Listening on TCP address 127\.0\.0\.1:(\d+)/)
    const port = Number(match[1])
    const res = await httpGet(port, '/')
    expect(JSON.parse(res.body)).toMatchObject({ label: 'served' })
    await server.waitForOutput(/"GET \/" 200 \d+/)
    expect(server.stderr()).toMatch(/INFO {5}Starting server at tcp:port=0:interface=127\.0\.0\.1/)
    expect(await server.stop('SIGTERM')).toBe(0)
  })
})
