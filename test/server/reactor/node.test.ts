import { describe, expect, it, vi } from 'vitest'
import { NodeReactor } from '../../../src/server/reactor/node.js'
import { rawExchange } from '../../helpers/ws-client.js'
import { runReactorContract } from './contract.js'
import { collector, OPTIONS } from './harness.js'

runReactorContract('node', (options) => new NodeReactor(options))

describe('NodeReactor', () => {
  it('names its engine', () => {
    expect(new NodeReactor(OPTIONS).engine).toBe(`node:http + ws (Node ${process.versions.node})`)
  })

  it('serves HTTP/1.0 (uWS 20.30 cannot) and reports the version', async () => {
    const reactor = new NodeReactor(OPTIONS)
    try {
      const seen = collector()
      const listener = await reactor.listen(
        { kind: 'tcp', host: '127.0.0.1', port: 0 },
        {
          ...seen.handlers,
          onRequest(request, response) {
            seen.handlers.onRequest(request, response)
            response.writeHead({ status: 200, headers: [] })
            response.end(Buffer.from('old'))
          },
        },
      )
      const port = listener.address.kind === 'tcp' ? listener.address.port : 0
      const data = await rawExchange(port, 'GET /old HTTP/1.0\r\nHost: x\r\n\r\n')
      expect(data.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nold$/)
      await vi.waitFor(() => expect(seen.requests[0]?.request.httpVersion).toBe('1.0'))
    } finally {
      await reactor.stop()
    }
  })
})
