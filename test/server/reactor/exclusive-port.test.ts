/**
 * A port another process listens on is refused, on both reactors: uWebSockets.js would otherwise
 * listen with SO_REUSEPORT and the kernel would split connections between the two servers. The
 * other process runs in a child, because uSockets refuses a second listen inside one process
 * anyway, and listens on a port it names: Linux lets no one join a port the kernel picked for a
 * port-0 bind. `exclusive: false` is the single switch that lets processes share a port.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Reactor, ReactorName, ReactorOptions } from '../../../src/server/reactor/types.js'
import { NodeReactor } from '../../../src/server/reactor/node.js'
import { UwsReactor } from '../../../src/server/reactor/uws.js'
import { get } from './contract-listen.js'
import { bundleChild, srcPath } from './child.js'
import { REACTORS } from '../../helpers/with-server.js'
import { freePort } from '../../helpers/free-port.js'

const CHILD = `
import { NodeReactor } from ${srcPath('src/server/reactor/node.ts')}
import { UwsReactor } from ${srcPath('src/server/reactor/uws.ts')}
const [name, exclusive, port] = process.argv.slice(2)
const options = {
  maxPayloadLength: 1024,
  maxBackpressure: 1024,
  exclusive: exclusive === 'exclusive',
}
const reactor = name === 'uws' ? new UwsReactor(options) : new NodeReactor(options)
const listener = await reactor.listen({ kind: 'tcp', host: '127.0.0.1', port: Number(port) }, {
  onRequest(_request, response) {
    response.writeHead({ status: 200, headers: [] })
    response.end(Buffer.from('child'))
  },
  onUpgrade() {},
})
process.stdout.write('port ' + listener.address.port + '\\n')
process.stdin.once('data', () => reactor.stop())
`

const OPTIONS: ReactorOptions = { maxPayloadLength: 1024, maxBackpressure: 1024 }

function create(name: ReactorName, options: ReactorOptions): Reactor {
  return name === 'uws' ? new UwsReactor(options) : new NodeReactor(options)
}

const handlers = {
  onRequest(
    _request: unknown,
    response: import('../../../src/server/reactor/types.js').HttpResponder,
  ) {
    response.writeHead({ status: 200, headers: [] })
    response.end(Buffer.from('parent'))
  },
  onUpgrade() {},
}

describe('a port held by another process', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** A child process listening on a free port with `name`; resolves with the port. */
  async function childListening(name: ReactorName, mode: 'exclusive' | 'shared') {
    const bundle = await bundleChild(CHILD)
    cleanups.push(bundle.cleanup)
    const port = String(await freePort())
    const child: ChildProcess = spawn(process.execPath, [bundle.file, name, mode, port], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    cleanups.push(async () => {
      child.stdin!.end('stop\n')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    })
    let output = ''
    child.stdout!.on('data', (data: Buffer) => (output += data.toString()))
    await vi.waitFor(() => expect(output).toMatch(/port \d+\n/), { timeout: 10_000 })
    return Number(/port (\d+)/.exec(output)![1])
  }

  describe.each(REACTORS)('held by a %s server', (holder) => {
    it.each(REACTORS)('%s refuses it with EADDRINUSE; the holder keeps serving', async (name) => {
      const port = await childListening(holder, 'exclusive')
      const reactor = create(name, OPTIONS)
      cleanups.push(() => reactor.stop())
      const attempt = reactor.listen({ kind: 'tcp', host: '127.0.0.1', port }, handlers)
      await expect(attempt).rejects.toMatchObject({ code: 'EADDRINUSE' })
      for (let i = 0; i < 8; i++) {
        expect((await get({ host: '127.0.0.1', port, path: '/' })).body).toBe('child')
      }
    })
  })

  it('uws refuses a port shared by another process unless it shares too', async () => {
    const port = await childListening('uws', 'shared')
    const exclusive = create('uws', OPTIONS)
    cleanups.push(() => exclusive.stop())
    await expect(
      exclusive.listen({ kind: 'tcp', host: '127.0.0.1', port }, handlers),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' })

    const sharing = create('uws', { ...OPTIONS, exclusive: false })
    cleanups.push(() => sharing.stop())
    const listener = await sharing.listen({ kind: 'tcp', host: '127.0.0.1', port }, handlers)
    expect(listener.address).toMatchObject({ port })
  })
})
