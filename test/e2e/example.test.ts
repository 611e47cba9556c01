/**
 * The shipped example project, run the way the README says but through this checkout's build:
 * `dist/bin/channels.js runserver` with cwd=example. No example/node_modules is needed: user code
 * resolves `channels-ts` to the CLI's own package (src/cli/reload/framework-plugin.ts).
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, ensureBuilt, httpGet, ROOT, startRunserver, type Spawned } from './helpers.js'

let server: Spawned & { port: number }

beforeAll(async () => {
  ensureBuilt()
  // --noreload: the example is part of the repository, never edited by tests.
  server = await startRunserver(join(ROOT, 'example'), ['--noreload'])
}, 120_000)

afterAll(async () => {
  // Unset when beforeAll failed.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
  expect(await server?.stop('SIGTERM')).toBe(0)
})

describe('example/', () => {
  it('serves the room chooser at / and its static files', async () => {
    const index = await httpGet(server.port, '/')
    expect(index.status).toBe(200)
    expect(index.body).toContain('Chat rooms')
    expect((await httpGet(server.port, '/static/chat.js')).status).toBe(200)
  })

  it('chats', async () => {
    const a = await connect(server.port, '/ws/chat/example/')
    const b = await connect(server.port, '/ws/chat/example/')
    expect(await a.nextJson()).toEqual({ user: null })
    expect(await b.nextJson()).toEqual({ user: null })
    b.ws.send(JSON.stringify({ message: 'from b' }))
    expect(await a.nextJson()).toEqual({ message: 'from b', user: null })
    await Promise.all([a.close(), b.close()])
  })
})
