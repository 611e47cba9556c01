/**
 * Django habits against the built binary on a startproject tree: the system checks stop a
 * server whose settings cannot work (and a reload to such settings keeps the last good
 * generation), `runserver --skip-checks` / `--nothreading` are accepted, `serve --log-fmt`
 * formats the log of a real server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  connect,
  ensureBuilt,
  httpGet,
  runBin,
  spawnBin,
  startRunserver,
  type Spawned,
} from './helpers.js'

let root: string
let project: string
let settingsFile: string
let original: string
let server: Spawned | undefined

beforeAll(() => {
  ensureBuilt()
  root = mkdtempSync(join(tmpdir(), 'channels-e2e-checks-'))
  project = join(root, 'mysite')
  const created = runBin(['startproject', 'mysite'], root)
  if (created.status !== 0) throw new Error(`startproject failed: ${created.stderr}`)
  settingsFile = join(project, 'settings.ts')
  original = readFileSync(settingsFile, 'utf8')
}, 120_000)

afterEach(async () => {
  await server?.stop('SIGINT')
  server = undefined
  writeFileSync(settingsFile, original)
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

/** The template's settings with some lines replaced. */
function editSettings(...replacements: [string, string][]): void {
  let text = original
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`settings.ts has no ${from}`)
    text = text.replace(from, to)
  }
  writeFileSync(settingsFile, text)
}

const PRODUCTION: [string, string][] = [
  ['DEBUG: true', 'DEBUG: false'],
  ['ALLOWED_HOSTS: []', "ALLOWED_HOSTS: ['127.0.0.1']"],
]

describe('system checks', () => {
  it("the template's key with DEBUG off stops runserver and serve; --skip-checks runs anyway", async () => {
    editSettings(...PRODUCTION)
    for (const command of [
      ['runserver', '127.0.0.1:0', '--noreload'],
      ['serve', '-p', '0'],
    ]) {
      const refused = spawnBin(command, project)
      await refused.waitForOutput(/System check identified 1 issue \(0 silenced\)\./)
      expect(await refused.exited).toBe(1)
      expect(refused.stderr()).toContain(
        'SystemCheckError: System check identified some issues:\n\nERRORS:\n' +
          "?: (channels.E005) Your SECRET_KEY is prefixed with 'channels-insecure-'",
      )
      expect(refused.stderr()).not.toMatch(/\n\s+at /)
    }
    server = await startRunserver(project, ['--noreload', '--skip-checks', '--nothreading'])
    expect(server.stdout()).not.toContain('Performing system checks')
    const port = (server as Spawned & { port: number }).port
    expect((await httpGet(port, '/')).status).toBe(200)
  })

  it('runserver reports a failing check at startup, watches, and serves once fixed', async () => {
    editSettings(["BACKEND: 'channels.layers.InMemoryChannelLayer'", "BACKEND: 'nope.Layer'"])
    server = spawnBin(['runserver', '127.0.0.1:0'], project)
    await server.waitForOutput(/The server starts once the project loads/)
    expect(server.stderr()).toContain(
      "?: (channels.E003) Cannot import BACKEND 'nope.Layer' specified for default.",
    )
    writeFileSync(settingsFile, original)
    const match = await server.waitForOutput(/development server at http:\/\/127\.0\.0\.1:(\d+)\//)
    const port = Number(match[1])
    expect(server.stdout()).toContain('System check identified no issues (0 silenced).')
    const member = await connect(port, '/ws/chat/lobby/')
    expect(await member.nextJson()).toEqual({ user: null })

    // A save that fails the checks is reported; the last good generation keeps serving.
    editSettings(...PRODUCTION)
    await server.waitForOutput(/\(channels\.E005\)[^]*System check identified 1 issue/)
    expect((await httpGet(port, '/')).status).toBe(200)
    member.ws.send(JSON.stringify({ message: 'still served' }))
    expect(await member.nextJson()).toEqual({ message: 'still served', user: null })
    await member.close()
  })

  it('runserver prints a warning and serves', async () => {
    editSettings(["STATICFILES_DIRS: ['static']", "STATICFILES_DIRS: ['static', 'assets']"])
    const started = await startRunserver(project, ['--noreload'])
    server = started
    expect(started.stderr()).toContain(
      "?: (staticfiles.W004) The directory 'assets' in the STATICFILES_DIRS setting does not exist.",
    )
    expect((await httpGet(started.port, '/static/style.css')).status).toBe(200)
  })
})

describe('serve --log-fmt', () => {
  it('formats every log line of the real server', async () => {
    server = spawnBin(
      ['serve', '-p', '0', '--log-fmt', '%(levelname)s [%(name)s] %(message)s'],
      project,
    )
    const match = await server.waitForOutput(
      /INFO \[channels\.cli\] Listening on TCP address 127\.0\.0\.1:(\d+)/,
    )
    expect((await httpGet(Number(match[1]), '/')).status).toBe(200)
    expect(server.stderr()).toMatch(/^INFO \[channels\.cli\] Starting server at tcp:port=0:/m)
  })
})
