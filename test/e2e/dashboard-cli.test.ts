/**
 * The dashboard through the built `channels` binary on a startproject project whose own routing
 * serves a page at /_channels/: runserver (DEBUG) serves the dashboard there anyway and
 * `--no-dashboard` gives the path back to the project; `serve` serves it only with --dashboard
 * and a token, answers 403 with nothing of the dashboard without the token, and refuses to start
 * with --dashboard and no token; under --workers each worker serves its own, naming itself.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startRedis } from '../helpers/redis-server.js'
import {
  ensureBuilt,
  handshakeStatus,
  httpGet,
  runBin,
  spawnBin,
  startRunserver,
  type Spawned,
} from './helpers.js'

const TOKEN = 'e2e-dashboard-token'
const LISTENING = /Listening on TCP address 127\.0\.0\.1:(\d+)/

let root: string
let project: string
const running: Spawned[] = []

beforeAll(() => {
  ensureBuilt()
  root = mkdtempSync(join(tmpdir(), 'channels-e2e-dashboard-'))
  project = join(root, 'mysite')
  const created = runBin(['startproject', 'mysite'], root)
  if (created.status !== 0) throw new Error(`startproject failed: ${created.stderr}`)
  // The project claims /_channels/ for a page of its own.
  const routing = join(project, 'mysite/routing.ts')
  const source = readFileSync(routing, 'utf8')
  const index = "path('', PageConsumer.asAsgi({ page: 'index.html' })),"
  if (!source.includes(index)) throw new Error('the template routing changed')
  writeFileSync(
    routing,
    source.replace(
      index,
      `${index}\n    path('_channels/', PageConsumer.asAsgi({ page: 'index.html' })),`,
    ),
  )
}, 120_000)

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop('SIGINT')))
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

async function serve(args: string[], env: Record<string, string> = {}): Promise<number> {
  const server = spawnBin(['serve', '-p', '0', ...args], project, env)
  running.push(server)
  return Number((await server.waitForOutput(LISTENING))[1])
}

describe('runserver', () => {
  it('serves the dashboard at /_channels/ in DEBUG, ahead of the project route there', async () => {
    const server = await startRunserver(project, ['--noreload'])
    running.push(server)
    await server.waitForOutput(/Dashboard at http:\/\/127\.0\.0\.1:\d+\/_channels\//)
    const page = await httpGet(server.port, '/_channels/')
    expect(page.status).toBe(200)
    expect(page.body).toContain('channels-ts dashboard')
    expect(await handshakeStatus(server.port, '/_channels/ws', null)).toBe(101)
    expect(await handshakeStatus(server.port, '/_channels/ws', 'http://evil.example')).toBe(403)
  })

  it('--no-dashboard leaves /_channels/ to the project', async () => {
    const server = await startRunserver(project, ['--noreload', '--no-dashboard'])
    running.push(server)
    const page = await httpGet(server.port, '/_channels/')
    expect(page.status).toBe(200)
    expect(page.body).not.toContain('channels-ts dashboard')
    expect(server.stdout()).not.toContain('Dashboard at')
  })
})

describe('serve', () => {
  it('without --dashboard: no dashboard, the project answers /_channels/', async () => {
    const port = await serve([], { CHANNELS_DASHBOARD_TOKEN: TOKEN })
    const page = await httpGet(port, '/_channels/')
    expect(page.body).not.toContain('channels-ts dashboard')
    expect(await handshakeStatus(port, '/_channels/ws', null)).toBe(403)
  })

  it('with --dashboard: 403 and no dashboard bytes without the token; in with it', async () => {
    const port = await serve(['--dashboard'], { CHANNELS_DASHBOARD_TOKEN: TOKEN })
    for (const path of ['/_channels/', '/_channels/api/snapshot', `/_channels/?token=wrong`]) {
      const refused = await httpGet(port, path)
      expect(refused.status).toBe(403)
      expect(refused.body).toBe('Forbidden\n')
    }
    expect(await handshakeStatus(port, '/_channels/ws', null)).toBe(403)
    const redirect = await fetch(`http://127.0.0.1:${port}/_channels/?token=${TOKEN}`, {
      redirect: 'manual',
    })
    expect(redirect.status).toBe(303)
    const cookie = (redirect.headers.get('set-cookie') ?? '').split(';')[0]!
    const page = await fetch(`http://127.0.0.1:${port}/_channels/`, { headers: { cookie } })
    expect(await page.text()).toContain('channels-ts dashboard')
    const snapshot = await fetch(`http://127.0.0.1:${port}/_channels/api/snapshot`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(((await snapshot.json()) as { reload: unknown }).reload).toBeNull()
    // The project's own pages are not guarded.
    expect((await httpGet(port, '/')).status).toBe(200)
  })

  it('with --workers 2: each worker serves its own dashboard and names itself', async () => {
    const redis = await startRedis()
    try {
      const server = spawnBin(['serve', '-p', '0', '--workers', '2', '--dashboard'], project, {
        CHANNELS_DASHBOARD_TOKEN: TOKEN,
        REDIS_URL: redis.url,
      })
      running.push(server)
      await server.waitForOutput(/All 2 workers are listening/, 30_000)
      const port = Number((await server.waitForOutput(LISTENING))[1])
      const seen = new Set<string>()
      // The kernel spreads new connections over the workers; both answer within a few tries.
      for (let i = 0; i < 40 && seen.size < 2; i++) {
        const response = await fetch(`http://127.0.0.1:${port}/_channels/api/snapshot`, {
          headers: { authorization: `Bearer ${TOKEN}`, connection: 'close' },
        })
        const { process } = (await response.json()) as {
          process: { worker: { id: number; count: number } }
        }
        expect(process.worker.count).toBe(2)
        seen.add(String(process.worker.id))
      }
      expect([...seen].sort()).toEqual(['1', '2'])
      expect((await httpGet(port, '/_channels/')).status).toBe(403)
    } finally {
      await Promise.all(running.splice(0).map((server) => server.stop('SIGINT')))
      await redis.stop()
    }
  }, 60_000)

  it('with --dashboard and no token: refuses to start, saying where the token goes', () => {
    const result = runBin(['serve', '-p', '0', '--dashboard'], project, {
      CHANNELS_DASHBOARD_TOKEN: '',
    })
    expect(result.status).not.toBe(0)
    expect(result.stderr).toContain('--dashboard needs a token: set CHANNELS_DASHBOARD_TOKEN')
  })
})
