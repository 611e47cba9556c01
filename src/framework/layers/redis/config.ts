/**
 * The Redis layers' CONFIG, read the way channels_redis reads it: `hosts` (a list of URL strings,
 * `[host, port]` pairs, option objects or Sentinel masters), `prefix`, and for the core layer
 * `expiry`, `group_expiry`, `capacity`, `channel_capacity` and `symmetric_encryption_keys`.
 * Everything is checked here, when the layer is built, so a bad setting fails at startup rather
 * than at the first message.
 * @module
 */
import { crc32 } from 'node:zlib'
import { ValueError } from '../../asgi/errors.js'
import { describeValue } from '../../../util/describe.js'
import { checkCapacity, compileCapacities } from '../capacity.js'
import type { CapacityRule, ChannelCapacityInput } from '../capacity.js'

/** Where one Redis host is and how to talk to it. */
export type HostSpec = AddressHost | SentinelHost

/** A host reached directly: from a URL, a `[host, port]` pair or an options object. */
export interface AddressHost {
  kind: 'address'
  /** TCP host and port, or a unix socket path. */
  host?: string
  port?: number
  path?: string
  tls: boolean
  /** TLS options for `rediss://` or `ssl: true` (CA file contents and client certificate). */
  tlsOptions?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean }
  db?: number
  username?: string
  password?: string
  /** Seconds to wait for the TCP (or TLS) connection. */
  connectTimeout?: number
  /** How the host appears in messages (no password). */
  label: string
}

/** A master found through Redis Sentinel (`master_name` and `sentinels`). */
export interface SentinelHost {
  kind: 'sentinel'
  masterName: string
  sentinels: readonly (readonly [string, number])[]
  /** Options for the connections to the sentinels themselves (`sentinel_kwargs`). */
  sentinelOptions: Omit<AddressHost, 'kind' | 'label' | 'host' | 'port' | 'path'>
  /** Options for the connections to the master (db, password, TLS…). */
  masterOptions: Omit<AddressHost, 'kind' | 'label' | 'host' | 'port' | 'path'>
  label: string
}

/** The default host when `hosts` is missing or empty, as in channels_redis. */
export const DEFAULT_HOST = 'redis://localhost:6379'

/**
 * channels_redis's `_consistent_hash`: 0 for one host, else the CRC-32 of the UTF-8 name, masked
 * to 12 bits and scaled onto the ring. Python and TypeScript processes must agree on it, or
 * they would look for the same group on different hosts.
 */
export function consistentHash(value: string, ringSize: number): number {
  if (ringSize === 1) return 0
  const bigval = crc32(Buffer.from(value, 'utf8')) & 0xfff
  return Math.trunc(bigval / (4096 / ringSize))
}

/**
 * channels_redis's `decode_hosts`: `hosts` must be a list; each entry becomes a HostSpec.
 * Throws ValueError with channels_redis's message for a bare string.
 */
export function decodeHosts(hosts: unknown): HostSpec[] {
  if (hosts === undefined || hosts === null) return [parseUrl(DEFAULT_HOST)]
  if (typeof hosts === 'string' || Buffer.isBuffer(hosts)) {
    throw new ValueError('You must pass a list of Redis hosts, even if there is only one.')
  }
  if (!Array.isArray(hosts)) {
    throw new ValueError(`hosts must be a list of Redis hosts, got ${describeValue(hosts)}`)
  }
  if (hosts.length === 0) return [parseUrl(DEFAULT_HOST)]
  return hosts.map((entry: unknown, index) => decodeHost(entry, index))
}

function decodeHost(entry: unknown, index: number): HostSpec {
  const where = `hosts[${index}]`
  if (typeof entry === 'string') return parseUrl(entry, where)
  if (Array.isArray(entry)) {
    const [host, port] = entry as unknown[]
    if (entry.length !== 2 || typeof host !== 'string' || !isPort(port)) {
      throw new ValueError(
        `${where} must be a [host, port] pair, got ${describeValue(entry as unknown)}`,
      )
    }
    return { kind: 'address', host, port, tls: false, label: `${host}:${port}` }
  }
  if (entry !== null && typeof entry === 'object') {
    return decodeOptions(entry as Record<string, unknown>, where)
  }
  throw new ValueError(
    `${where} must be a URL string, a [host, port] pair or an options object, ` +
      `got ${describeValue(entry)}`,
  )
}

/** `redis://`, `rediss://` and `unix://` URLs, as redis-py's `from_url` reads them. */
export function parseUrl(text: string, where = 'hosts'): AddressHost {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ValueError(
      `${where}: invalid Redis URL ${JSON.stringify(text)}${portProblem(text) ?? ''}`,
    )
  }
  const scheme = url.protocol.slice(0, -1)
  if (scheme !== 'redis' && scheme !== 'rediss' && scheme !== 'unix') {
    throw new ValueError(
      `${where}: Redis URL must specify one of the following schemes ` +
        `(redis://, rediss://, unix://), got ${JSON.stringify(text)}`,
    )
  }
  const query = url.searchParams
  const spec: AddressHost = { kind: 'address', tls: scheme === 'rediss', label: '' }
  if (url.username) spec.username = decodeURIComponent(url.username)
  if (url.password) spec.password = decodeURIComponent(url.password)
  if (query.has('password')) spec.password = query.get('password') as string
  const db = query.get('db') ?? (scheme === 'unix' ? null : url.pathname.slice(1) || null)
  if (db !== null) spec.db = parseDb(db, where)
  if (scheme === 'unix') {
    if (!url.pathname) throw new ValueError(`${where}: ${text} names no socket path`)
    spec.path = decodeURIComponent(url.pathname)
    spec.label = `unix://${spec.path}`
  } else {
    spec.host = url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost'
    spec.port = url.port === '' ? 6379 : Number(url.port)
    spec.label = `${scheme}://${url.host || 'localhost'}${spec.db ? `/${spec.db}` : ''}`
  }
  return spec
}

/** Python's urllib words for a bad port (what redis-py's `from_url` raises), when that is why. */
function portProblem(text: string): string | undefined {
  const port = /^[a-z][a-z\d+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):([^/?#]*)/i.exec(
    text,
  )?.[1]
  if (port === undefined || port === '') return undefined
  if (!/^\d+$/.test(port)) return `: Port could not be cast to integer value as '${port}'`
  return Number(port) > 65535 ? ': Port out of range 0-65535' : undefined
}

// redis-py's connection keyword arguments that mean something here.
const OPTION_KEYS = new Set([
  'address',
  'host',
  'port',
  'db',
  'username',
  'password',
  'ssl',
  'ssl_ca_certs',
  'ssl_certfile',
  'ssl_keyfile',
  'ssl_cert_reqs',
  'unix_socket_path',
  'path',
  'socket_connect_timeout',
  'master_name',
  'sentinels',
  'sentinel_kwargs',
])

function decodeOptions(options: Record<string, unknown>, where: string): HostSpec {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new ValueError(
        `${where} has an unknown connection option '${key}' ` +
          `(known: ${[...OPTION_KEYS].join(', ')})`,
      )
    }
  }
  if (options.master_name !== undefined) return decodeSentinel(options, where)
  if (options.address !== undefined) {
    if (typeof options.address !== 'string') {
      throw new ValueError(`${where}.address must be a URL string`)
    }
    const base = parseUrl(options.address, where)
    return { ...base, ...connectionOptions(options, where) }
  }
  const common = connectionOptions(options, where)
  const path = options.unix_socket_path ?? options.path
  if (path !== undefined) {
    if (typeof path !== 'string') throw new ValueError(`${where}: the socket path must be a string`)
    return { kind: 'address', ...common, path, tls: common.tls, label: `unix://${path}` }
  }
  const host = options.host ?? 'localhost'
  const port = options.port ?? 6379
  if (typeof host !== 'string') throw new ValueError(`${where}.host must be a string`)
  if (!isPort(port)) throw new ValueError(`${where}.port must be a port number`)
  const scheme = common.tls ? 'rediss' : 'redis'
  return { kind: 'address', ...common, host, port, label: `${scheme}://${host}:${port}` }
}

type CommonOptions = Omit<AddressHost, 'kind' | 'label' | 'host' | 'port' | 'path'>

function connectionOptions(options: Record<string, unknown>, where: string): CommonOptions {
  const out: CommonOptions = { tls: options.ssl === true }
  if (options.ssl !== undefined && typeof options.ssl !== 'boolean') {
    throw new ValueError(`${where}.ssl must be true or false`)
  }
  if (options.db !== undefined) out.db = parseDb(options.db, where)
  for (const key of ['username', 'password'] as const) {
    const value = options[key]
    if (value === undefined || value === null) continue
    if (typeof value !== 'string') throw new ValueError(`${where}.${key} must be a string`)
    out[key] = value
  }
  const timeout = options.socket_connect_timeout
  if (timeout !== undefined && timeout !== null) {
    if (typeof timeout !== 'number' || !(timeout > 0)) {
      throw new ValueError(`${where}.socket_connect_timeout must be a positive number of seconds`)
    }
    out.connectTimeout = timeout
  }
  const tls: NonNullable<AddressHost['tlsOptions']> = {}
  for (const [key, field] of [
    ['ssl_ca_certs', 'ca'],
    ['ssl_certfile', 'cert'],
    ['ssl_keyfile', 'key'],
  ] as const) {
    const value = options[key]
    if (value === undefined || value === null) continue
    if (typeof value !== 'string') throw new ValueError(`${where}.${key} must be a file path`)
    tls[field] = value
  }
  if (options.ssl_cert_reqs !== undefined) {
    // redis-py: 'required' (default) verifies the server; 'none' does not.
    const reqs = options.ssl_cert_reqs
    if (reqs !== 'required' && reqs !== 'optional' && reqs !== 'none' && reqs !== null) {
      throw new ValueError(`${where}.ssl_cert_reqs must be 'required', 'optional' or 'none'`)
    }
    tls.rejectUnauthorized = reqs === 'required'
  }
  if (Object.keys(tls).length > 0) out.tlsOptions = tls
  return out
}

function decodeSentinel(options: Record<string, unknown>, where: string): SentinelHost {
  const { master_name: masterName, sentinels, sentinel_kwargs: sentinelKwargs } = options
  if (typeof masterName !== 'string' || masterName === '') {
    throw new ValueError(`${where}.master_name must be a non-empty string`)
  }
  if (!Array.isArray(sentinels) || sentinels.length === 0) {
    throw new ValueError(`${where}.sentinels must be a non-empty list of [host, port] pairs`)
  }
  const pairs = sentinels.map((pair: unknown, i) => {
    const [host, port] = Array.isArray(pair) ? (pair as unknown[]) : []
    if (!Array.isArray(pair) || pair.length !== 2 || typeof host !== 'string' || !isPort(port)) {
      throw new ValueError(`${where}.sentinels[${i}] must be a [host, port] pair`)
    }
    return [host, port] as const
  })
  const rest: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (!['master_name', 'sentinels', 'sentinel_kwargs', 'address'].includes(key)) {
      rest[key] = value
    }
  }
  let sentinelOptions: CommonOptions = { tls: false }
  if (sentinelKwargs !== undefined && sentinelKwargs !== null) {
    if (typeof sentinelKwargs !== 'object' || Array.isArray(sentinelKwargs)) {
      throw new ValueError(`${where}.sentinel_kwargs must be an options object`)
    }
    sentinelOptions = connectionOptions(sentinelKwargs as Record<string, unknown>, where)
  }
  const list = pairs.map(([h, p]) => `${h}:${p}`).join(',')
  return {
    kind: 'sentinel',
    masterName,
    sentinels: pairs,
    sentinelOptions,
    masterOptions: connectionOptions(rest, where),
    label: `sentinel master '${masterName}' via ${list}`,
  }
}

function parseDb(value: unknown, where: string): number {
  const db = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  if (typeof db !== 'number' || !Number.isInteger(db) || db < 0) {
    throw new ValueError(`${where}: db must be a non-negative integer, got ${describeValue(value)}`)
  }
  return db
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536
}

/** The core layer's settings, checked. Times are seconds, as in channels_redis. */
export interface CoreConfig {
  hosts: HostSpec[]
  prefix: string
  expiry: number
  groupExpiry: number
  capacity: number
  capacityRules: CapacityRule[]
  symmetricEncryptionKeys: (string | Uint8Array)[]
}

/** The pub/sub layer's settings, checked. */
export interface PubSubConfig {
  hosts: HostSpec[]
  prefix: string
}

/** CONFIG keys of the core layer, in channels_redis's spelling, with camelCase aliases. */
const CORE_KEYS: Record<string, string> = {
  hosts: 'hosts',
  prefix: 'prefix',
  expiry: 'expiry',
  group_expiry: 'group_expiry',
  groupExpiry: 'group_expiry',
  capacity: 'capacity',
  channel_capacity: 'channel_capacity',
  channelCapacity: 'channel_capacity',
  symmetric_encryption_keys: 'symmetric_encryption_keys',
  symmetricEncryptionKeys: 'symmetric_encryption_keys',
}

/** Read and check the core layer's CONFIG. */
export function parseCoreConfig(config: unknown): CoreConfig {
  const options = normalize(config, CORE_KEYS, 'RedisChannelLayer')
  const keys = options.symmetric_encryption_keys
  let symmetricEncryptionKeys: (string | Uint8Array)[] = []
  if (keys !== undefined && keys !== null) {
    if (typeof keys === 'string' || keys instanceof Uint8Array) {
      throw new ValueError('symmetric_encryption_keys must be a list of possible keys')
    }
    if (!Array.isArray(keys)) {
      throw new ValueError(
        `symmetric_encryption_keys must be a list of possible keys, got ${describeValue(keys)}`,
      )
    }
    symmetricEncryptionKeys = keys.map((key: unknown, i) => {
      if (typeof key === 'string' || key instanceof Uint8Array) {
        if (key.length === 0) throw new ValueError(`symmetric_encryption_keys[${i}] is empty`)
        return key
      }
      throw new ValueError(`symmetric_encryption_keys[${i}] must be a string or bytes`)
    })
  }
  return {
    hosts: decodeHosts(options.hosts),
    prefix: checkPrefix(options.prefix),
    expiry: checkSeconds(options.expiry ?? 60, 'expiry'),
    groupExpiry: checkSeconds(options.group_expiry ?? 86400, 'group_expiry'),
    capacity: checkCapacity(options.capacity ?? 100, 'capacity'),
    capacityRules: compileCapacities(options.channel_capacity as ChannelCapacityInput | undefined),
    symmetricEncryptionKeys,
  }
}

const PUBSUB_KEYS: Record<string, string> = { hosts: 'hosts', prefix: 'prefix' }

/** Read and check the pub/sub layer's CONFIG. */
export function parsePubSubConfig(config: unknown): PubSubConfig {
  const options = normalize(config, PUBSUB_KEYS, 'RedisPubSubChannelLayer', {
    symmetric_encryption_keys:
      'the pub/sub layer does not encrypt (channels_redis has no encryption there); ' +
      'use RedisChannelLayer for symmetric_encryption_keys',
    expiry: 'the pub/sub layer keeps no queues, so messages do not expire',
    group_expiry: 'the pub/sub layer keeps group memberships in the process, not in Redis',
    capacity: 'the pub/sub layer keeps no queues, so there is no capacity',
    channel_capacity: 'the pub/sub layer keeps no queues, so there is no capacity',
  })
  const hosts = options.hosts
  // channels_redis's pub/sub layer asserts this (a bare string included) when it first connects.
  if (Array.isArray(hosts) ? hosts.length === 0 : hosts !== undefined && hosts !== null) {
    throw new ValueError('`hosts` must be a list with at least one Redis server')
  }
  return { hosts: decodeHosts(hosts), prefix: checkPrefix(options.prefix) }
}

function normalize(
  config: unknown,
  known: Record<string, string>,
  layer: string,
  unsupported: Record<string, string> = {},
): Record<string, unknown> {
  if (config === undefined || config === null) return {}
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new TypeError(`${layer} CONFIG must be an object, got ${describeValue(config)}`)
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    const name = known[key]
    if (name === undefined) {
      const why = unsupported[key]
      if (why !== undefined) throw new ValueError(`${layer} got '${key}': ${why}`)
      // Python's message for an unknown keyword argument.
      throw new TypeError(`${layer}.__init__() got an unexpected keyword argument '${key}'`)
    }
    if (out[name] !== undefined) throw new ValueError(`${layer}: give ${name} once`)
    if (value !== undefined) out[name] = value
  }
  return out
}

function checkPrefix(prefix: unknown): string {
  if (prefix === undefined) return 'asgi'
  if (typeof prefix !== 'string') throw new ValueError('Prefix must be unicode')
  return prefix
}

function checkSeconds(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValueError(
      `${name} must be a positive number of seconds, got ${describeValue(value)}`,
    )
  }
  return value
}
