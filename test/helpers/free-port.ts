/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, for tests that must name a port
 * (Linux lets no second socket join a port the kernel picked for a port-0 bind).
 * @module
 */
import net from 'node:net'

export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
