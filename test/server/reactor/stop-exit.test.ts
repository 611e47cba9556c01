/**
 * After `stop()` nothing of the reactor keeps the event loop alive: a process whose only work
 * was serving exits by itself, even with a WebSocket, a pending request, an idle keep-alive
 * connection and a WebSocket whose peer never answers the server's close frame.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { connectRaw, handshakeRequest, openClient } from '../../helpers/ws-client.js'
import { bundleChild, srcPath } from './child.js'

const CHILD = `
import { NodeReactor } from ${srcPath('src/server/reactor/node.ts')}
import { UwsReactor } from ${srcPath('src/server/reactor/uws.ts')}
const options = { maxPayloadLength: 1024, maxBackpressure: 1024 }
const open = []
const reactor = process.argv[2] === 'uws' ? new UwsReactor(options) : new NodeReactor(options)
const listener = await reactor.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, {
  onRequest() {},
  onUpgrade(_request, _protocols, upgrade) {
    upgrade.accept({}, { onOpen(socket) { open.push(socket); process.stdout.write('open\\n') },
      onText() {}, onBinary() {},
      onDrain() {}, onPong() {}, onClose() {} })
  },
})
reactor.onSignal(['SIGUSR2'], () => undefined)
process.stdout.write('port ' + listener.address.port + '\\n')
process.stdin.once('data', () => {
  // What a graceful shutdown does first: 1001 to everyone (one peer below never answers).
  for (const socket of open) socket.close(1001, 'Going away')
  reactor.stop().then(() => process.stdout.write('stopped\\n'))
})
process.stdin.unref()
`

describe.each(['uws', 'node'])('%s reactor stop()', (name) => {
  const cleanups: (() => void)[] = []
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup()
  })

  it('lets the process exit with connections open', async () => {
    const bundle = await bundleChild(CHILD)
    cleanups.push(bundle.cleanup)
    const child: ChildProcess = spawn(process.execPath, [bundle.file, name], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    cleanups.push(() => child.kill('SIGKILL'))
    let output = ''
    child.stdout!.on('data', (data: Buffer) => (output += data.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    const printed = (pattern: RegExp) => vi.waitFor(() => expect(output).toMatch(pattern))
    await printed(/port \d+/)
    const port = Number(/port (\d+)/.exec(output)![1])
    const client = await openClient(`ws://127.0.0.1:${port}/`)
    await printed(/open\n/)
    const silent = await connectRaw(port)
    silent.write(handshakeRequest('/'))
    await silent.until((data) => data.includes('\r\n\r\n'))
    // A dead peer: reads nothing more, so never answers the close frame nor sees the FIN.
    silent.socket.pause()
    await printed(/open\nopen\n/)
    const pending = await connectRaw(port)
    pending.write('GET /never HTTP/1.1\r\nHost: x\r\n\r\n')
    const idle = await connectRaw(port)
    child.stdin!.end('stop\n')
    expect(await exited).toBe(0)
    expect(output).toContain('stopped')
    expect((await client.closed).code).toBe(1001)
    silent.destroy()
    await pending.closed
    await idle.closed
  })
})
