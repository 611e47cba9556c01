/**
 * channels_redis's `RedisChannelLayer`, on the same keys and bytes, so TypeScript and Django
 * processes share channels and groups on one Redis:
 *
 * - a channel is a sorted set at `prefix + name`, scored by send time (seconds); every channel of
 *   one process (`specific.<client prefix>!<id>`) shares ONE key, `prefix + 'specific.<client
 *   prefix>!'`, and its messages carry their target in `__asgi_channel__` (a list for a group);
 * - a group is a sorted set at `prefix + ':group:' + name` of channel names scored by join time;
 * - a message is 12 random bytes ‖ msgpack (Fernet-encrypted when keys are configured);
 * - a receive runs the backup script, `BZPOPMIN`s, keeps the message in `key$inflight` while it
 *   is handed on, then `ZPOPMIN`s the backup: a receive interrupted in between loses nothing.
 *
 * One receive loop per Redis key runs while a receiver of that key waits (see Mailboxes).
 * @module
 */
import { randomUUID } from 'node:crypto'
import { ChannelFull } from '../../asgi/errors.js'
import type { InspectableLayer, LayerReport } from '../../asgi/inspection.js'
import { getLogger } from '../../asgi/logging.js'
import type { ChannelMessage } from '../../asgi/types.js'
import { capacityFor } from '../capacity.js'
import type { CapacityRule } from '../capacity.js'
import { cloneMessage, isFlatMessage } from '../clone.js'
import type { ChannelLayer, LayerExtension, LayerReceiver } from '../types.js'
import {
  nonLocalName,
  requireValidChannelName,
  requireValidGroupName,
  requireValidMessage,
  RESERVED_MESSAGE_KEY,
} from '../validation.js'
import { CoreSerializer, packMessage } from './codec.js'
import { consistentHash, parseCoreConfig } from './config.js'
import {
  HostConnections,
  RedisConnectionError,
  type RedisConnection,
  type Reply,
} from './connection.js'
import { Mailboxes } from './mailboxes.js'
import { WriteBehind } from './write-behind.js'

const logger = getLogger('channels.layers.redis')

/** Seconds a BZPOPMIN blocks before the loop checks whether anybody still waits. */
const BLOCK_SECONDS = 5

/**
 * Messages a process key gives up at once. Only this process reads its key, and channels_redis
 * buffers what it pops from it per channel too; popping what is there in one round trip instead
 * of one per message keeps a busy process from falling behind its key (whose capacity then
 * drops messages) and hands a turn's messages to the consumers together.
 */
const POP_BATCH = 100

/**
 * The backup script's cleanup, then pop up to ARGV[3] messages of ARGV[1] and keep them in the
 * backup ARGV[2] (scores kept), as the blocking receive keeps its one message: what this
 * process dies holding goes back to the queue on the next receive.
 */
const POP_BATCH_SCRIPT = `
            local backed_up = redis.call('ZRANGE', ARGV[2], 0, -1, 'WITHSCORES')
            for i = #backed_up, 1, -2 do
                redis.call('ZADD', ARGV[1], backed_up[i], backed_up[i - 1])
            end
            redis.call('DEL', ARGV[2])
            local popped = redis.call('ZPOPMIN', ARGV[1], ARGV[3])
            for i = 1, #popped, 2 do
                redis.call('ZADD', ARGV[2], popped[i + 1], popped[i])
            end
            return popped
        `

/** channels_redis's backup script: move `$inflight` messages back into the queue, scores kept. */
const CLEANUP_SCRIPT = `
            local backed_up = redis.call('ZRANGE', ARGV[2], 0, -1, 'WITHSCORES')
            for i = #backed_up, 1, -2 do
                redis.call('ZADD', ARGV[1], backed_up[i], backed_up[i - 1])
            end
            redis.call('DEL', ARGV[2])
        `

/** channels_redis's group_send script: add to each key below its capacity, count the rest. */
const GROUP_SEND_SCRIPT = `
                local over_capacity = 0
                local current_time = ARGV[#ARGV - 1]
                local expiry = ARGV[#ARGV]
                for i=1,#KEYS do
                    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
                        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
                        redis.call('EXPIRE', KEYS[i], expiry)
                    else
                        over_capacity = over_capacity + 1
                    end
                end
                return over_capacity
            `

/** channels_redis's flush script: delete every key under the prefix. */
const FLUSH_SCRIPT = `
            local keys = redis.call('keys', ARGV[1])
            for i=1,#keys,5000 do
                redis.call('del', unpack(keys, i, math.min(i+4999, #keys)))
            end
        `

/** The channels_redis core layer (`channels_redis.core.RedisChannelLayer`). */
export class RedisChannelLayer implements ChannelLayer, InspectableLayer {
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush']
  /** Key prefix (`asgi`). */
  readonly prefix: string
  /** Seconds a queued message lives. */
  readonly expiry: number
  /** Seconds a group membership lives after its last groupAdd. */
  readonly groupExpiry: number
  /** Default channel capacity. */
  readonly capacity: number
  /** This process's part of its channel names (one uuid4 hex per layer, as channels_redis). */
  readonly clientPrefix = randomUUID().replaceAll('-', '')

  private readonly capacityRules: CapacityRule[]
  private readonly hosts: HostConnections[]
  private readonly serializer: CoreSerializer
  private readonly mailboxes: Mailboxes
  private readonly loops = new Set<string>()
  private readonly loopsDone = new Set<Promise<void>>()
  private readonly groupSends = new WriteBehind()
  /** Resolves once the latest group send has queued its messages (they go out in call order). */
  private queuedTail: Promise<void> = Promise.resolve()
  private lastScore = 0
  private sendIndex = 0
  private receiveIndex = 0
  private closed = false
  private refused = 0

  constructor(config: Record<string, unknown> = {}) {
    const options = parseCoreConfig(config)
    this.prefix = options.prefix
    this.expiry = options.expiry
    this.groupExpiry = options.groupExpiry
    this.capacity = options.capacity
    this.capacityRules = options.capacityRules
    this.hosts = options.hosts.map((spec) => new HostConnections(spec))
    this.serializer = new CoreSerializer({
      symmetricEncryptionKeys: options.symmetricEncryptionKeys,
      expiry: options.expiry,
    })
    this.mailboxes = new Mailboxes({
      capacityOf: (channel) => this.getCapacity(channel),
      keyOf: nonLocalName,
      onDemand: (key) => this.startLoops(key),
    })
  }

  /** The capacity of a channel: the first matching `channel_capacity` rule, else `capacity`. */
  getCapacity(channel: string): number {
    return capacityFor(this.capacityRules, channel, this.capacity)
  }

  /**
   * What this process sees (InspectableLayer): the buffers of the channels it receives on and
   * its refused sends. Queues and groups live in Redis and are not listed; messages expire there.
   */
  inspect(): LayerReport {
    return {
      backend: 'RedisChannelLayer',
      location: this.hosts.map((h) => h.label).join(', '),
      channels: this.mailboxes.report(),
      groups: null,
      refused: this.refused,
      dropped: this.mailboxes.dropped,
      expired: 0,
    }
  }

  /** Not known here: the members are in Redis. */
  groupMembers(): null {
    return null
  }

  toString(): string {
    return `RedisChannelLayer(hosts=[${this.hosts.map((h) => h.label).join(', ')}])`
  }

  async send(channel: string, message: ChannelMessage): Promise<void> {
    requireValidMessage(message)
    requireValidChannelName(channel)
    let payload = message
    const specific = channel.includes('!')
    if (specific) payload = { ...message, [RESERVED_MESSAGE_KEY]: channel }
    const member = this.serializer.serialize(payload)
    const nonLocal = nonLocalName(channel)
    const key = this.prefix + nonLocal
    // channels_redis 4.0 hashes the FULL specific name here but the non-local name everywhere
    // else; with several hosts that sends to a host nobody reads. The non-local name is used
    // here, and a process reads its own key on every host, so both spellings arrive.
    const host = this.hosts[specific ? this.hashOf(nonLocal) : this.nextSendIndex()]!
    // After the group sends still being queued, so a channel gets its messages in call order.
    if (this.groupSends.size > 0) await this.queuedTail
    const now = this.score()
    const [, count] = await Promise.all([
      host.call(['ZREMRANGEBYSCORE', key, '0', String(Math.trunc(now) - this.expirySeconds())]),
      host.call(['ZCOUNT', key, '-inf', '+inf']),
    ])
    if ((count as number) >= this.getCapacity(channel)) {
      this.refused++
      throw new ChannelFull(channel)
    }
    await Promise.all([
      host.call(['ZADD', key, String(now), member]),
      host.call(['EXPIRE', key, String(this.expirySeconds())]),
    ])
  }

  receive(channel: string, options?: { signal?: AbortSignal }): Promise<ChannelMessage> {
    try {
      this.checkReceivable(channel)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.mailboxes.receive(channel, options?.signal)
  }

  receiveInto(channel: string, receiver: LayerReceiver): void {
    this.checkReceivable(channel)
    this.mailboxes.receiveInto(channel, receiver)
  }

  cancelReceive(channel: string, receiver: LayerReceiver): void {
    this.mailboxes.cancelReceive(channel, receiver)
  }

  async newChannel(prefix = 'specific'): Promise<string> {
    return this.newChannelNow(prefix)
  }

  /** `{prefix}.{client prefix}!{uuid4 hex}`, as channels_redis names channels. */
  newChannelNow(prefix = 'specific'): string {
    const name = `${prefix}.${this.clientPrefix}!${randomUUID().replaceAll('-', '')}`
    requireValidChannelName(name)
    return name
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    requireValidGroupName(group)
    requireValidChannelName(channel)
    const key = this.groupKey(group)
    const host = this.hosts[this.hashOf(group)]!
    await Promise.all([
      host.call(['ZADD', key, String(Date.now() / 1000), channel]),
      host.call(['EXPIRE', key, String(Math.max(1, Math.trunc(this.groupExpiry)))]),
    ])
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    requireValidGroupName(group)
    requireValidChannelName(channel)
    await this.hosts[this.hashOf(group)]!.call(['ZREM', this.groupKey(group), channel])
  }

  /**
   * channels_redis's group send: the group's members, then one message per Redis key through
   * the group send script. On a connected host it returns once the members are asked for, and
   * the messages go out in call order after them (see WriteBehind).
   */
  async groupSend(group: string, message: ChannelMessage): Promise<void> {
    requireValidMessage(message)
    requireValidGroupName(group)
    // Refused here whoever the members turn out to be (and if there are none).
    packMessage(message)
    const host = this.hosts[this.hashOf(group)]!
    const connected = host.live() !== undefined
    if (connected && !this.groupSends.accepts(host)) await this.groupSends.drain()
    const sent = this.fanOut(group, message, host)
    if (connected) this.groupSends.track(host, sent, `Sending to group ${group}`)
    else await sent
  }

  private async fanOut(group: string, message: ChannelMessage, host: HostConnections) {
    const previous = this.queuedTail
    let queued!: () => void
    this.queuedTail = new Promise((resolve) => (queued = resolve))
    try {
      const key = this.groupKey(group)
      const now = this.score()
      const expired = String(Math.trunc(now) - Math.trunc(this.groupExpiry))
      const [, names] = await Promise.all([
        host.call(['ZREMRANGEBYSCORE', key, '0', expired]),
        host.call(['ZRANGE', key, '0', '-1']),
      ])
      const channels = (names as Buffer[]).map((name) => name.toString('utf8'))
      const batches = this.groupSendBatches(channels, message, now)
      await previous
      const sent = batches.map(async ({ host: index, args, cleanups }) => {
        const target = this.hosts[index]!
        // The expired messages go first, so they do not count against the capacity.
        for (const cleanup of cleanups) void target.call(cleanup).catch(() => undefined)
        const over = await target.call(args)
        if ((over as number) > 0) {
          logger.info(
            `${String(over)} of ${channels.length} channels over capacity in group ${group}`,
          )
        }
      })
      queued()
      await Promise.all(sent)
    } finally {
      queued()
    }
  }

  /**
   * The commands of a group send, per host: one message per Redis key listing that key's
   * channels (a process's channels share one key), and the expired messages' cleanup.
   */
  private groupSendBatches(channels: string[], message: ChannelMessage, now: number) {
    const perKey = new Map<string, { channels: string[]; capacity: number; host: number }>()
    for (const channel of channels) {
      const nonLocal = nonLocalName(channel)
      const channelKey = this.prefix + nonLocal
      const entry = perKey.get(channelKey)
      if (entry !== undefined) entry.channels.push(channel)
      else {
        perKey.set(channelKey, {
          channels: [channel],
          capacity: this.getCapacity(channel),
          host: this.hashOf(nonLocal),
        })
      }
    }
    const perHost = new Map<number, string[]>()
    for (const [channelKey, entry] of perKey) {
      const keys = perHost.get(entry.host)
      if (keys === undefined) perHost.set(entry.host, [channelKey])
      else keys.push(channelKey)
    }
    const expiredMessages = String(Math.trunc(now) - this.expirySeconds())
    return [...perHost].map(([index, keys]) => {
      const args: (string | Buffer)[] = ['EVAL', GROUP_SEND_SCRIPT, String(keys.length), ...keys]
      for (const channelKey of keys) {
        const entry = perKey.get(channelKey)!
        args.push(this.serializer.serialize({ ...message, [RESERVED_MESSAGE_KEY]: entry.channels }))
      }
      for (const channelKey of keys) args.push(luaCapacity(perKey.get(channelKey)!.capacity))
      args.push(String(now), String(this.expirySeconds()))
      const cleanups = keys.map((k) => ['ZREMRANGEBYSCORE', k, '0', expiredMessages])
      return { host: index, args, cleanups }
    })
  }

  /** Delete every key under the prefix on every host (channels_redis's flush). */
  async flush(): Promise<void> {
    await this.groupSends.drain()
    this.mailboxes.clearBuffers()
    await Promise.all(
      this.hosts.map((host) => host.call(['EVAL', FLUSH_SCRIPT, '0', `${this.prefix}*`])),
    )
  }

  /** Stop the receive loops, reject waiting receivers and close every connection. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.mailboxes.cancelAll()
    await this.groupSends.drain()
    await Promise.all(this.hosts.map((host) => host.close()))
    await Promise.all(this.loopsDone)
  }

  private checkReceivable(channel: string): void {
    requireValidChannelName(channel)
    if (this.closed) throw new Error('The channel layer is closed')
    if (channel.includes('!') && !nonLocalName(channel).endsWith(`${this.clientPrefix}!`)) {
      throw new Error(`Wrong client prefix: ${channel} is not a channel of this process`)
    }
  }

  /** Start reading `key` (a process key on every host, a normal channel on one at a time). */
  private startLoops(key: string): void {
    if (this.closed) return
    const hosts = key.endsWith('!') ? this.hosts.map((_, i) => i) : [-1]
    for (const index of hosts) {
      const id = `${index} ${key}`
      if (this.loops.has(id)) continue
      this.loops.add(id)
      const done = this.readLoop(key, index).finally(() => {
        this.loops.delete(id)
        this.loopsDone.delete(done)
        // A receiver may have arrived after the loop decided to stop.
        if (this.mailboxes.wanted(key)) this.startLoops(key)
      })
      this.loopsDone.add(done)
    }
  }

  /** Pop messages of `key` from host `fixedHost` (-1: round-robin) while somebody waits. */
  private async readLoop(key: string, fixedHost: number): Promise<void> {
    const redisKey = this.prefix + key
    const backup = `${redisKey}$inflight`
    const processKey = key.endsWith('!')
    let failures = 0
    while (!this.closed && this.mailboxes.wanted(key)) {
      const host = this.hosts[fixedHost === -1 ? this.nextReceiveIndex() : fixedHost]!
      let connection: RedisConnection | undefined
      try {
        connection = await host.acquire()
        if (processKey) {
          const popped = (await connection.call([
            'EVAL',
            POP_BATCH_SCRIPT,
            '0',
            redisKey,
            backup,
            String(POP_BATCH),
          ])) as Buffer[]
          if (popped.length > 0) {
            for (let i = 0; i < popped.length; i += 2) this.handOn(key, redisKey, popped[i]!, true)
            // Queued ahead of the next pop on this connection: no round trip of its own.
            void connection.call(['DEL', backup]).catch(() => undefined)
            failures = 0
            continue
          }
        }
        await connection.call(['EVAL', CLEANUP_SCRIPT, '0', redisKey, backup])
        const reply = await connection.call(['BZPOPMIN', redisKey, String(BLOCK_SECONDS)])
        failures = 0
        if (reply === null) continue
        const [, member, score] = reply as [Buffer, Buffer, Buffer | number]
        const backedUp = connection.call(['ZADD', backup, String(score), member])
        if (!processKey && !this.mailboxes.hasReceiver(key)) {
          // Its receiver left while we waited: the message stays in the backup, and the next
          // receive of this channel (here or in another process) puts it back first.
          await backedUp
          break
        }
        this.handOn(key, redisKey, member, processKey)
        await backedUp
        await connection.call(['ZPOPMIN', backup])
      } catch (error) {
        if (this.isClosed()) break
        failures++
        // The host logs the outage once (also when it cannot connect at all); the loop retries
        // with a growing pause.
        if (failures === 1 && !connection?.lost && !(error instanceof RedisConnectionError)) {
          logger.error(`Receiving on ${redisKey} failed`, error)
        }
        await sleep(Math.min(100 * 2 ** Math.min(failures - 1, 5), 2000))
      } finally {
        if (connection !== undefined) host.release(connection)
      }
    }
  }

  /** Decode a popped message and deliver it to its channel(s); undecodable ones are skipped. */
  private handOn(key: string, redisKey: string, member: Buffer, processKey: boolean): void {
    let message: ChannelMessage
    try {
      message = this.serializer.deserialize(member)
    } catch (error) {
      logger.error(
        `Skipped a message on ${redisKey} that cannot be read: ${(error as Error).message}`,
      )
      return
    }
    const target: unknown = message[RESERVED_MESSAGE_KEY]
    Reflect.deleteProperty(message, RESERVED_MESSAGE_KEY)
    if (!processKey) {
      this.mailboxes.deliver(key, message)
      return
    }
    if (typeof target === 'string') this.mailboxes.deliver(target, message)
    else if (Array.isArray(target)) {
      // Checked once, not per channel: a flat message's copy is a spread.
      const flat = isFlatMessage(message)
      target.forEach((channel, i) => {
        if (typeof channel !== 'string') return
        const copy = i === 0 ? message : flat ? { ...message } : cloneMessage(message)
        this.mailboxes.deliver(channel, copy)
      })
    } else {
      logger.error(`Skipped a message on ${redisKey} without a target channel`)
    }
  }

  /**
   * The send time as a score, in seconds like Python's `time.time()`, strictly increasing within
   * the process: equal scores would pop in the order of their (random) bytes, not of sending.
   */
  private score(): number {
    const now = (performance.timeOrigin + performance.now()) / 1000
    this.lastScore = now > this.lastScore ? now : this.lastScore + 1e-6
    return this.lastScore
  }

  /** `closed`, read where an await may have changed it. */
  private isClosed(): boolean {
    return this.closed
  }

  private groupKey(group: string): string {
    return `${this.prefix}:group:${group}`
  }

  private hashOf(name: string): number {
    return consistentHash(name, this.hosts.length)
  }

  private nextSendIndex(): number {
    const index = this.sendIndex
    this.sendIndex = (index + 1) % this.hosts.length
    return index
  }

  private nextReceiveIndex(): number {
    const index = this.receiveIndex
    this.receiveIndex = (index + 1) % this.hosts.length
    return index
  }

  /** Whole seconds for EXPIRE and the expiry cut-off (at least 1: EXPIRE 0 deletes the key). */
  private expirySeconds(): number {
    return Math.max(1, Math.trunc(this.expiry))
  }
}

/** A capacity for the Lua script's `tonumber` (which reads no "Infinity"). */
function luaCapacity(capacity: number): string {
  return capacity === Infinity ? String(Number.MAX_SAFE_INTEGER) : String(capacity)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

export type { Reply }
