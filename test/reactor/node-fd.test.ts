/**
 * The node reactor adopts an inherited listening socket (`fd:` endpoints, what a process manager
 * such as systemd or circus hands over). Runs in a child that inherits the socket as fd 3.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterEach, describe, expect, it } from 'vitest'
import { get } from './contract-listen.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

const CHILD = `
import { NodeReactor } from ${JSON.stringify(path.join(ROOT, 'src/reactor/node.ts'))}
const reactor = new NodeReactor({ maxPayloadLength: 1024, maxBackpressure: 1024 })
const listener = await reactor.listen({ kind: 'fd', fileno: 3 }, {
  onRequest(request, response) {
    response.writeHead({ status: 200, headers: [] })
    response.end(Buffer.from('fd ok ' + JSON.stringify(listener.address) + ' ' + request.url))
  },
  onUpgrade(_request, _protocols, upgrade) { upgrade.reject({ status: 403, headers: [] }) },
})
process.stdout.write('ready\\n')
`

describe('NodeReactor fd endpoint', () => {
  const cleanups: (() => void)[] = []
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup()
  })

  it('serves on an inherited listening socket', async () => {
    // Bundled next to node_modules so the child resolves `ws` like the suite does.
    const dir = fs.mkdtempSync(path.join(ROOT, 'node_modules', '.reactor-fd-'))
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
    const outfile = path.join(dir, 'child.mjs')
    await build({
      stdin: { contents: CHILD, resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      outfile,
      logLevel: 'silent',
    })
    const parent = net.createServer()
    await new Promise<void>((resolve) => parent.listen(0, '127.0.0.1', resolve))
    const port = (parent.address() as net.AddressInfo).port
    const fd = (parent as unknown as { _handle: { fd: number } })._handle.fd
    const child: ChildProcess = spawn(process.execPath, [outfile], { stdio: ['ignore', 'pipe', 'inherit', fd] })
    cleanups.push(() => child.kill('SIGKILL'))
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (data: Buffer) => data.toString().includes('ready') && resolve())
      child.on('exit', (code) => reject(new Error(`child exited with ${code}`)))
    })
    // Only the child holds the socket now.
    await new Promise((resolve) => parent.close(resolve))
    const res = await get({ host: '127.0.0.1', port, path: '/via-fd' })
    expect(res.body).toBe('fd ok {"kind":"fd","fileno":3} /via-fd')
  })
})
