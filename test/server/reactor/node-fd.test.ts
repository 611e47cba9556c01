/**
 * The node reactor adopts an inherited listening socket (`fd:` endpoints, what a process manager
 * such as systemd or circus hands over). Runs in a child that inherits the socket as fd 3.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { bundleChild, srcPath } from './child.js'
import { get } from './contract-listen.js'

const CHILD = `
import { NodeReactor } from ${srcPath('src/server/reactor/node.ts')}
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
    const bundle = await bundleChild(CHILD)
    cleanups.push(bundle.cleanup)
    const parent = net.createServer()
    await new Promise<void>((resolve) => parent.listen(0, '127.0.0.1', resolve))
    const port = (parent.address() as net.AddressInfo).port
    const fd = (parent as unknown as { _handle: { fd: number } })._handle.fd
    const child: ChildProcess = spawn(process.execPath, [bundle.file], {
      stdio: ['ignore', 'pipe', 'inherit', fd],
    })
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
