/**
 * Connections to one Redis host, made lazily and kept per host: one shared command connection
 * (node-redis pipelines the commands issued in one turn), dedicated connections for blocking
 * pops, and, for the pub/sub layer, one subscriber connection. A connection that fails is
 * dropped and the next use makes a new one (for a Sentinel host, asking the sentinels again), so
 * a restarted or failed-over Redis is picked up without a reconnect loop inside the client.
 * node-redis is imported on first connection: a project that never talks to Redis never loads it.
 * @module
 */
import { readFileSync } from 'node:fs'
import type { RedisClientOptions } from '@redis/client'
import { ChannelsError } from '../../asgi/errors.js'
import { getLogger } from '../../asgi/logging.js'
import { errorText } from '../../../util/describe.js'
import type { AddressHost, HostSpec, SentinelHost } from './config.js'

const logger = getLogger('channels.layers.redis')

/** A Redis host could not be reached (or the connection to it was lost). */
export class RedisConnectionError extends ChannelsError {
  constructor(
    readonly host: string,
    cause: unknown,
  ) {
    super(`Cannot reach Redis at ${host}: ${errorText(cause)}`, { cause })
  }
}

/** A reply value: bulk strings arrive as Buffers, integers as numbers, arrays as arrays. */
export type Reply = Buffer | number | null | Reply[]

/** The node-redis client surface used here (typed narrowly: its generic types are huge). */
interface NodeRedisClient {
  connect(): Promise<unknown>
  sendCommand(args: readonly (string | Buffer)[]): Promise<unknown>
  subscribe(
    channel: string,
    listener: (message: Buffer, channel: Buffer) => void,
    buffers: true,
  ): Promise<void>
  unsubscribe(channel: string): Promise<void>
  close(): Promise<void>
  destroy(): void
  on(event: 'error', listener: (error: unknown) => void): unknown
  on(event: 'end', listener: () => void): unknown
  readonly isReady: boolean
}

type ConnectOptions = Omit<AddressHost, 'kind' | 'label'>
type RedisSocketOptions = NonNullable<RedisClientOptions['socket']>

async function createNodeRedisClient(options: ConnectOptions): Promise<NodeRedisClient> {
  const { createClient, RESP_TYPES } = await import('@redis/client')
  const tls = options.tlsOptions
  const common = {
    // No reconnecting inside the client: a lost connection is replaced on next use (see above).
    reconnectStrategy: false as const,
    connectTimeout: (options.connectTimeout ?? 5) * 1000,
  }
  let socket: RedisSocketOptions
  if (options.path !== undefined) socket = { ...common, path: options.path }
  else if (options.tls) {
    socket = {
      ...common,
      host: options.host,
      port: options.port,
      tls: true,
      ca: tls?.ca === undefined ? undefined : readFileSync(tls.ca),
      cert: tls?.cert === undefined ? undefined : readFileSync(tls.cert),
      key: tls?.key === undefined ? undefined : readFileSync(tls.key),
      rejectUnauthorized: tls?.rejectUnauthorized,
    }
  } else socket = { ...common, host: options.host, port: options.port }
  const client = createClient({
    socket,
    username: options.username,
    password: options.password,
    database: options.db,
    // A command issued while the connection is down fails at once instead of waiting.
    disableOfflineQueue: true,
    RESP: 2,
  }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
  return client
}

/** One open connection. `lost` turns true when it fails or closes; it is never reused then. */
export class RedisConnection {
  lost = false
  /** The server's CLIENT ID for this connection, once asked (blocking connections). */
  clientId: string | undefined
  private closing = false

  private constructor(
    private readonly client: NodeRedisClient,
    readonly host: string,
    private readonly onLost: (error: unknown) => void,
  ) {}

  /** Connect to `spec` (asking the sentinels first for a Sentinel host). */
  static async open(
    spec: HostSpec,
    onLost: (error: unknown) => void = () => undefined,
  ): Promise<RedisConnection> {
    const options = spec.kind === 'sentinel' ? await findMaster(spec) : spec
    let client: NodeRedisClient
    try {
      client = await createNodeRedisClient(options)
    } catch (error) {
      throw new RedisConnectionError(spec.label, error)
    }
    const connection = new RedisConnection(client, spec.label, onLost)
    client.on('error', (error) => connection.fail(error))
    client.on('end', () => connection.fail(new Error('connection closed')))
    try {
      await client.connect()
    } catch (error) {
      connection.lost = true
      client.destroy()
      throw new RedisConnectionError(spec.label, error)
    }
    return connection
  }

  /** Run one command. Connection failures reject with RedisConnectionError naming the host. */
  async call(args: readonly (string | Buffer)[]): Promise<Reply> {
    if (this.lost) throw new RedisConnectionError(this.host, new Error('connection lost'))
    try {
      return (await this.client.sendCommand(args)) as Reply
    } catch (error) {
      if (this.failed()) throw new RedisConnectionError(this.host, error)
      throw error
    }
  }

  /** SUBSCRIBE with a listener that gets the message and channel as Buffers. */
  async subscribe(channel: string, listener: (message: Buffer, channel: Buffer) => void) {
    try {
      await this.client.subscribe(channel, listener, true)
    } catch (error) {
      throw new RedisConnectionError(this.host, error)
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    try {
      await this.client.unsubscribe(channel)
    } catch (error) {
      throw new RedisConnectionError(this.host, error)
    }
  }

  /** Close politely (QUIT after pending replies); a failing close just drops the socket. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.lost = true
    try {
      await this.client.close()
    } catch {
      this.client.destroy()
    }
  }

  /** Whether the connection is gone (read after an await, where it may have changed). */
  private failed(): boolean {
    return this.lost || !this.client.isReady
  }

  private fail(error: unknown): void {
    if (this.lost) return
    this.lost = true
    if (!this.closing) this.onLost(error)
  }
}

/** Ask each sentinel in turn for the master's address (redis-py's SentinelConnectionPool). */
async function findMaster(spec: SentinelHost): Promise<ConnectOptions> {
  const failures: string[] = []
  for (const [host, port] of spec.sentinels) {
    const sentinel: AddressHost = {
      kind: 'address',
      ...spec.sentinelOptions,
      host,
      port,
      label: `sentinel ${host}:${port}`,
    }
    let connection: RedisConnection | undefined
    try {
      connection = await RedisConnection.open(sentinel)
      const reply = await connection.call(['SENTINEL', 'get-master-addr-by-name', spec.masterName])
      if (Array.isArray(reply) && reply.length === 2) {
        const [masterHost, masterPort] = reply.map(String)
        return { ...spec.masterOptions, host: masterHost, port: Number(masterPort) }
      }
      failures.push(`${host}:${port} does not know it`)
    } catch (error) {
      failures.push(`${host}:${port}: ${errorText(error)}`)
    } finally {
      await connection?.close()
    }
  }
  throw new RedisConnectionError(spec.label, new Error(`no master found (${failures.join('; ')})`))
}

/**
 * The connections to one host. The command connection is shared; blocking connections are lent
 * out one per blocking loop and kept for reuse. Outages are logged once when they start and
 * once when a connection works again.
 */
export class HostConnections {
  private commandConnection: Promise<RedisConnection> | undefined
  /** The command connection once open (what `live()` reads without awaiting). */
  private liveCommand: RedisConnection | undefined
  private readonly idleBlocking: RedisConnection[] = []
  private readonly lent = new Set<RedisConnection>()
  private down = false
  /** A connection to the host has worked once (the words of the outage warnings). */
  private connected = false
  private closed = false

  constructor(readonly spec: HostSpec) {}

  get label(): string {
    return this.spec.label
  }

  /**
   * Run a command on the shared connection (opened on first use, replaced when lost). On an
   * open connection the command is queued during this call, so commands reach Redis in the
   * order of the calls.
   */
  async call(args: readonly (string | Buffer)[]): Promise<Reply> {
    const live = this.live()
    if (live !== undefined) return live.call(args)
    const connection = await this.command()
    return connection.call(args)
  }

  /**
   * The shared command connection if it is open right now, else undefined (not opened yet, or
   * lost): a command given to it is queued at once, in order behind every earlier one.
   */
  live(): RedisConnection | undefined {
    const connection = this.liveCommand
    return connection === undefined || connection.lost ? undefined : connection
  }

  /** The shared command connection. */
  command(): Promise<RedisConnection> {
    this.checkOpen()
    const current = this.commandConnection
    if (current !== undefined) {
      return current.then((connection) =>
        connection.lost ? this.reopenCommand(current) : connection,
      )
    }
    return this.reopenCommand(undefined)
  }

  /** A connection of its own for a blocking command; give it back with `release`. */
  async acquire(): Promise<RedisConnection> {
    this.checkOpen()
    let connection = this.idleBlocking.pop()
    while (connection?.lost) connection = this.idleBlocking.pop()
    if (connection === undefined) {
      connection = await this.open()
      // Kept so that close() can end a blocking pop without losing what it pops.
      connection.clientId = String(await connection.call(['CLIENT', 'ID']))
    }
    if (this.closed) {
      await connection.close()
      this.checkOpen()
    }
    this.lent.add(connection)
    return connection
  }

  /** Take back a connection from `acquire`; a lost one is dropped. */
  release(connection: RedisConnection): void {
    this.lent.delete(connection)
    if (this.closed || connection.lost) void connection.close()
    else this.idleBlocking.push(connection)
  }

  /**
   * A new connection owned by the caller (the pub/sub layer's subscriber); `onLost` runs when
   * it fails later.
   */
  open(onLost?: (error: unknown) => void): Promise<RedisConnection> {
    this.checkOpen()
    const lost = (error: unknown) => {
      this.lost(error)
      onLost?.(error)
    }
    return RedisConnection.open(this.spec, lost).then(
      (connection) => {
        if (this.down) {
          this.down = false
          const what = this.connected ? 'Reconnected' : 'Connected'
          logger.warn(`${what} to Redis at ${this.spec.label}`)
        }
        this.connected = true
        return connection
      },
      (error: unknown) => {
        this.lost(error)
        throw error
      },
    )
  }

  /**
   * Close every connection; later calls fail. A blocking pop in progress is ended with CLIENT
   * UNBLOCK (it then returns as if it timed out), so nothing it would pop is lost in a socket
   * that closes under it.
   */
  async close(): Promise<void> {
    this.closed = true
    const all: Promise<unknown>[] = []
    const command = this.commandConnection
    this.commandConnection = undefined
    this.liveCommand = undefined
    const blocked = [...this.lent].filter((c) => !c.lost && c.clientId !== undefined)
    if (blocked.length > 0) {
      try {
        const unblocker = await (command ?? RedisConnection.open(this.spec))
        await Promise.all(blocked.map((b) => unblocker.call(['CLIENT', 'UNBLOCK', b.clientId!])))
        if (command === undefined) await unblocker.close()
      } catch {
        // Unreachable: the sockets close below anyway.
      }
    }
    if (command !== undefined) all.push(command.then((c) => c.close()).catch(() => undefined))
    for (const connection of [...this.idleBlocking, ...this.lent]) all.push(connection.close())
    this.idleBlocking.length = 0
    this.lent.clear()
    await Promise.all(all)
  }

  private reopenCommand(stale: Promise<RedisConnection> | undefined): Promise<RedisConnection> {
    // Several callers may find the same lost connection: only the first replaces it.
    if (this.commandConnection !== stale) return this.command()
    const next = this.open()
    this.commandConnection = next
    this.liveCommand = undefined
    next.then(
      (connection) => {
        if (this.commandConnection === next) this.liveCommand = connection
      },
      () => {
        // A failed connect is not cached: the next call tries again.
        if (this.commandConnection === next) this.commandConnection = undefined
      },
    )
    return next
  }

  private lost(error: unknown): void {
    if (this.closed || this.down) return
    this.down = true
    const what = this.connected ? 'Lost the connection to' : 'Cannot reach'
    logger.warn(`${what} Redis at ${this.spec.label}: ${errorText(error)}; retrying on next use`)
  }

  private checkOpen(): void {
    if (this.closed) throw new RedisConnectionError(this.spec.label, new Error('layer closed'))
  }
}
