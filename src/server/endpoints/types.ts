/**
 * Where a server listens, parsed once at the edge from Twisted's strports syntax
 * (`tcp:port=8000:interface=127.0.0.1`, `unix:/tmp/s.sock`, `ssl:443:privateKey=…`, `fd:fileno=3`).
 * The server and reactors only ever see these objects.
 * @module
 */

/** TCP (`tcp:` and `tcp6:`). `host` is `''` for every interface; IPv6 literals are unescaped. */
export interface TcpEndpoint {
  kind: 'tcp'
  port: number
  host: string
  backlog?: number
}

/** TLS over TCP (`ssl:`); `privateKey`/`certKey` are PEM file paths. */
export interface SslEndpoint {
  kind: 'ssl'
  port: number
  host: string
  privateKey: string
  certKey: string
  extraCertChain?: string
  dhParameters?: string
  backlog?: number
  /**
   * Twisted's OpenSSL method name, kept only so descriptions round-trip: Node negotiates the TLS
   * version itself, so listeners ignore it.
   */
  sslmethod?: string
}

/** A unix domain socket (`unix:`); `mode` is the octal permission applied after bind. */
export interface UnixEndpoint {
  kind: 'unix'
  path: string
  mode?: number
  backlog?: number
  /** Twisted's default: guard the path with `PATH.lock`. */
  lockfile: boolean
}

/** An already-listening socket inherited from the parent process (`fd:`). */
export interface FdEndpoint {
  kind: 'fd'
  fileno: number
  domain?: string
}

export type Endpoint = TcpEndpoint | SslEndpoint | UnixEndpoint | FdEndpoint
