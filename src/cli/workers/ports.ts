/**
 * Before its workers listen, the supervisor makes sure each TCP port is free and turns port 0
 * into a real one, so every worker joins the same port.
 *
 * On the uWS reactor the workers listen with SO_REUSEPORT, and Linux lets a socket with that
 * flag join a port whose every socket also has it and belongs to the same user. So without this
 * check a worker would quietly share a port another such program holds. The check binds each
 * port exclusively and releases it again before the workers start. Holding it is no option: an
 * exclusive socket keeps the workers' SO_REUSEPORT sockets out as well, and Node 20's
 * net.Server cannot set SO_REUSEPORT to hold it in the workers' group. What the release leaves
 * open is the moment until the first worker listens, and only to a program of the same user
 * that itself sets SO_REUSEPORT; such a program could join the workers' group at any later
 * moment just as well, so closing that moment would not close the exposure. A server that
 * listens exclusively (a single `channels serve`, runserver, most programs) can never join.
 * On the node reactor the cluster primary (the supervisor) binds the port itself, exclusively,
 * when the first worker listens; the check then only makes the error come before any worker.
 * @module
 */
import net from 'node:net'
import { endpointLabel } from '../../server/endpoints/format.js'
import type { Endpoint } from '../../server/endpoints/types.js'

/** The endpoints with each TCP port checked free and port 0 replaced by a free port. */
export async function claimPorts(endpoints: readonly Endpoint[]): Promise<Endpoint[]> {
  const claimed: Endpoint[] = []
  for (const endpoint of endpoints) {
    if (endpoint.kind !== 'tcp' && endpoint.kind !== 'ssl') {
      claimed.push(endpoint)
      continue
    }
    const port = await probe(endpoint)
    claimed.push({ ...endpoint, port })
  }
  return claimed
}

/** Bind the endpoint's address exclusively, release it, and return the port it got. */
function probe(endpoint: Extract<Endpoint, { kind: 'tcp' | 'ssl' }>): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? 'EINVAL'
      const reason = code === 'EADDRINUSE' ? 'address already in use' : error.message
      const text = `Cannot listen on ${endpointLabel(endpoint)}: ${reason} (${code})`
      reject(Object.assign(new Error(text, { cause: error }), { code }))
    })
    // `exclusive`: in a cluster primary the flag changes nothing, but it says what is meant.
    server.listen(
      { port: endpoint.port, host: endpoint.host || undefined, exclusive: true },
      () => {
        const address = server.address()
        const port = typeof address === 'object' && address ? address.port : endpoint.port
        server.close(() => resolve(port))
      },
    )
  })
}
