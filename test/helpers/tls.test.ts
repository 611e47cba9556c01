import { X509Certificate, createPrivateKey } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { connect, createServer } from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { makeSelfSignedCert } from './tls.js'
import type { SelfSignedCert } from './tls.js'

describe('makeSelfSignedCert', () => {
  let cert: SelfSignedCert | undefined
  afterEach(async () => {
    await cert?.cleanup()
    cert = undefined
  })

  it('writes a matching key and localhost certificate', async () => {
    cert = await makeSelfSignedCert()
    const x509 = new X509Certificate(await readFile(cert.certPath))
    expect(x509.subject).toBe('CN=localhost')
    expect(x509.subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    )
    expect(x509.checkPrivateKey(createPrivateKey(await readFile(cert.keyPath)))).toBe(true)
  })

  it('serves a TLS handshake that a client trusting it verifies', async () => {
    cert = await makeSelfSignedCert()
    const [key, pem] = await Promise.all([readFile(cert.keyPath), readFile(cert.certPath)])
    const server = createServer({ key, cert: pem }, (socket) => socket.end('hi'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const received = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca: pem, servername: 'localhost' })
        let data = ''
        socket.on('data', (chunk: Buffer) => (data += chunk.toString()))
        socket.on('end', () => resolve(data))
        socket.on('error', reject)
      })
      expect(received).toBe('hi')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('cleanup removes the directory and can be called twice', async () => {
    const made = await makeSelfSignedCert()
    expect(existsSync(made.keyPath)).toBe(true)
    await made.cleanup()
    await made.cleanup()
    expect(existsSync(made.dir)).toBe(false)
  })
})
