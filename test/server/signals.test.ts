// SIGTERM/SIGINT with signalHandlers on: stop accepting, close WebSockets with 1001, exit 0.
// Runs the server in a child process (bundled with esbuild) so the signal is real.
import { spawn } from 'node:child_process'
import { mkdir, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REACTORS } from '../helpers/with-server.js'
import { openClient } from '../helpers/ws-client.js'

// Inside the repository so the bundle resolves uWebSockets.js and ws from node_modules.
const OUT_DIR = fileURLToPath(
  new URL('../../node_modules/.cache/channels-ts-tests/', import.meta.url),
)
const OUT = `${OUT_DIR}signal-server-${process.pid}.mjs`

beforeAll(async () => {
  await mkdir(OUT_DIR, { recursive: true })
  await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/signal-server.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: OUT,
    logLevel: 'silent',
  })
})

afterAll(async () => {
  await rm(OUT, { force: true })
})

describe.each(REACTORS)('signals on the %s reactor', (reactor) => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s closes WebSockets with 1001 and the process exits 0',
    async (signal) => {
      const child = spawn(process.execPath, [OUT, reactor], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      )
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString()
          const line = stdout.split('\n')[0]
          if (stdout.includes('\n')) resolve((JSON.parse(line!) as { port: number }).port)
        })
        child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)))
      })
      const client = await openClient(`ws://127.0.0.1:${port}/`)
      child.kill(signal)
      expect((await client.closed).code).toBe(1001)
      expect(await exited).toBe(0)
      expect(stdout).toContain('stopped')
    },
  )
})
