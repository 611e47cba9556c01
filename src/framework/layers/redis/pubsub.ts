/**
 * channels_redis's `RedisPubSubChannelLayer`: Redis pub/sub instead of queues. A process
 * subscribes once to each of its channels and once to each group one of its channels is in
 * (`{prefix}__group__{group}`); `groupSend` is ONE `PUBLISH`, whatever the group's size, and each
 * subscribed process hands the message to its own members. Delivery is at most once: only who is
 * subscribed when a message is published gets it, and nothing is kept while a connection is down.
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { GroupReport, InspectableLayer, LayerReport } from '../../asgi/inspection.js'
import { getLogger } from '../../asgi/logging.js'
import type { ChannelMessage } from '../../asgi/types.js'
import { cloneMessage, isFlatMessage } from '../clone.js'
import type { ChannelLayer, LayerExtension, LayerReceiver } from '../types.js'
import {
  requireValidChannelName,
  requireValidGroupName,
  requireValidMessage,
} from '../validation.js'
import { pubSubSerializer } from './codec.js'
import { consistentHash, parsePubSubConfig } from './config.js'
import { HostConnections, RedisConnectionError, type RedisConnection } from './connection.js'
import { Mailboxes } from './mailboxes.js'
import { WriteBehind } from './write-behind.js'

const logger = getLogger('channels.layers.redis')

/**
 * Messages a channel holds for a receiver that is busy. channels_redis leaves this unbounded; a
 * consumer that stopped reading would then grow the process without limit. Generous, because
 * the messages of a burst (all read from one socket chunk) are buffered before the consumer
 * gets to run, and a full buffer drops its oldest message.
 */
const BUFFER_LIMIT = 1000

/** The channels_redis pub/sub layer (`channels_redis.pubsub.RedisPubSubChannelLayer`). */
export class RedisPubSubChannelLayer implements ChannelLayer, InspectableLayer {
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush']
  /** Prefix of channel names and group channels (`asgi`). */
  readonly prefix: string

  private readonly shards: Shard[]
  private readonly mailboxes: Mailboxes
  /** This process's channels (subscribed). */
  private readonly channels = new Set<string>()
  /** Group channel (`{prefix}__group__{group}`) → this process's member channels. */
  private readonly groups = new Map<string, Set<string>>()
  private readonly sends = new WriteBehind()
  private closed = false
  /** Group sends per group, once inspect() was called (see InspectableLayer). */
  private groupSends: Map<string, number> | null = null

  constructor(config: Record<string, unknown> = {}) {
    const options = parsePubSubConfig(config)
    this.prefix = options.prefix
    this.shards = options.hosts.map(
      (spec) => new Shard(new HostConnections(spec), (name, data) => this.onMessage(name, data)),
    )
    this.mailboxes = new Mailboxes({
      capacityOf: () => BUFFER_LIMIT,
      keyOf: (channel) => channel,
      // channels_redis: receive() on a channel this process does not have yet subscribes to it.
      onDemand: (channel) => {
        if (!this.channels.has(channel)) void this.subscribeChannel(channel).catch(logFailure)
      },
    })
  }

  /**
   * What this process sees (InspectableLayer): the buffers of its channels and the groups its
   * channels joined, with this process's members only. Published messages are not queued.
   */
  inspect(): LayerReport {
    const sends = (this.groupSends ??= new Map<string, number>())
    const head = this.groupChannel('')
    const groups: GroupReport[] = []
    for (const [groupChannel, members] of this.groups) {
      const name = groupChannel.slice(head.length)
      groups.push({ name, members: members.size, sends: sends.get(name) ?? 0 })
    }
    // Only groups with members here are listed: other counts would stay for the process's life.
    for (const name of sends.keys()) if (!this.groups.has(head + name)) sends.delete(name)
    return {
      backend: 'RedisPubSubChannelLayer',
      location: this.shards.map((s) => s.host.label).join(', '),
      channels: this.mailboxes.report(),
      groups,
      refused: 0,
      dropped: this.mailboxes.dropped,
      expired: 0,
    }
  }

  /** This process's members of `group`, or null when none of its channels joined it. */
  groupMembers(group: string): string[] | null {
    const members = this.groups.get(this.groupChannel(group))
    return members === undefined ? null : [...members]
  }

  toString(): string {
    return `RedisPubSubChannelLayer(hosts=[${this.shards.map((s) => s.host.label).join(', ')}])`
  }

  /** PUBLISH to the channel: received only if some process is subscribed to it right now. */
  async send(channel: string, message: ChannelMessage): Promise<void> {
    requireValidMessage(message)
    requireValidChannelName(channel)
    await this.publish(channel, pubSubSerializer.serialize(message))
  }

  receive(channel: string, options?: { signal?: AbortSignal }): Promise<ChannelMessage> {
    try {
      requireValidChannelName(channel)
      this.checkOpen()
    } catch (error) {
      return Promise.reject(error)
    }
    const signal = options?.signal
    const received = this.mailboxes.receive(channel, signal)
    // channels_redis unsubscribes a channel whose receive is cancelled (the consumer is leaving),
    // unless another receive still waits on it.
    if (signal !== undefined) {
      received.catch(() => {
        if (signal.aborted && !this.mailboxes.hasReceiver(channel)) this.forget(channel)
      })
    }
    return received
  }

  receiveInto(channel: string, receiver: LayerReceiver): void {
    requireValidChannelName(channel)
    this.checkOpen()
    this.mailboxes.receiveInto(channel, receiver)
  }

  /** Disarm `receiver`: its consumer is leaving, so the channel is unsubscribed and forgotten. */
  cancelReceive(channel: string, receiver: LayerReceiver): void {
    this.mailboxes.cancelReceive(channel, receiver)
    if (!this.mailboxes.hasReceiver(channel)) this.forget(channel)
  }

  /** A new channel, subscribed before the promise resolves. */
  async newChannel(prefix = 'specific.'): Promise<string> {
    const channel = this.nameChannel(prefix)
    await this.subscribeChannel(channel)
    return channel
  }

  /**
   * A new channel, named now and subscribed in the background (a consumer names its channel
   * before the handshake completes; nobody can send to it before it tells somebody the name).
   */
  newChannelNow(prefix = 'specific.'): string {
    const channel = this.nameChannel(prefix)
    void this.subscribeChannel(channel).catch(logFailure)
    return channel
  }

  /** Subscribe this process to the group (once, however many local members it has). */
  async groupAdd(group: string, channel: string): Promise<void> {
    requireValidGroupName(group)
    requireValidChannelName(channel)
    if (!this.channels.has(channel)) {
      throw new Error(
        'You can only call groupAdd() on channels that exist in-process.\n' +
          'Consumers are encouraged to use the common pattern:\n' +
          `   this.channelLayer.groupAdd(${JSON.stringify(group)}, this.channelName)`,
      )
    }
    const groupChannel = this.groupChannel(group)
    let members = this.groups.get(groupChannel)
    if (members === undefined) {
      members = new Set()
      this.groups.set(groupChannel, members)
    }
    members.add(channel)
    await this.shardOf(groupChannel).subscribe(groupChannel)
  }

  /**
   * Remove a local member; the process unsubscribes when its last member leaves. A non-member
   * is a no-op (channels_redis 4.0 raises AssertionError there).
   */
  async groupDiscard(group: string, channel: string): Promise<void> {
    requireValidGroupName(group)
    requireValidChannelName(channel)
    const groupChannel = this.groupChannel(group)
    const members = this.groups.get(groupChannel)
    if (members === undefined || !members.delete(channel)) return
    if (members.size === 0) {
      this.groups.delete(groupChannel)
      await this.shardOf(groupChannel).unsubscribe(groupChannel)
    }
  }

  /** One PUBLISH to the group's channel. */
  async groupSend(group: string, message: ChannelMessage): Promise<void> {
    requireValidMessage(message)
    requireValidGroupName(group)
    if (this.groupSends !== null) this.groupSends.set(group, (this.groupSends.get(group) ?? 0) + 1)
    await this.publish(this.groupChannel(group), pubSubSerializer.serialize(message))
  }

  /** Drop buffered messages and every group membership of this process. */
  async flush(): Promise<void> {
    await this.sends.drain()
    this.mailboxes.clearBuffers()
    const groupChannels = [...this.groups.keys()]
    this.groups.clear()
    await Promise.all(groupChannels.map((name) => this.shardOf(name).unsubscribe(name)))
  }

  /** Reject waiting receivers and close every connection. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.mailboxes.cancelAll()
    this.channels.clear()
    this.groups.clear()
    await this.sends.drain()
    await Promise.all(this.shards.map((shard) => shard.close()))
  }

  /**
   * PUBLISH `data` to `name`. On a connected host the send returns once the command is queued
   * (see WriteBehind); otherwise it waits for the connection and the reply, and so rejects when
   * the host cannot be reached.
   */
  private async publish(name: string, data: Buffer): Promise<void> {
    const shard = this.shardOf(name)
    if (!this.sends.accepts(shard)) await this.sends.drain()
    const connected = shard.host.live() !== undefined
    const published = shard.publish(name, data)
    if (connected) this.sends.track(shard, published, `Publishing to ${name}`)
    else await published
  }

  private nameChannel(prefix: string): string {
    const channel = `${this.prefix}${prefix}${randomUUID().replaceAll('-', '')}`
    requireValidChannelName(channel)
    this.checkOpen()
    return channel
  }

  private async subscribeChannel(channel: string): Promise<void> {
    this.channels.add(channel)
    await this.shardOf(channel).subscribe(channel)
  }

  /** Forget a channel whose receiver left: unsubscribe it and drop its group memberships. */
  private forget(channel: string): void {
    if (this.closed || !this.channels.delete(channel)) return
    void this.shardOf(channel).unsubscribe(channel).catch(logFailure)
    for (const [groupChannel, members] of this.groups) {
      if (members.delete(channel) && members.size === 0) {
        this.groups.delete(groupChannel)
        void this.shardOf(groupChannel).unsubscribe(groupChannel).catch(logFailure)
      }
    }
  }

  /** A message arrived on a subscribed Redis channel. */
  private onMessage(name: string, data: Buffer): void {
    let message: ChannelMessage
    try {
      message = pubSubSerializer.deserialize(data)
    } catch (error) {
      logger.error(`Skipped a message on ${name} that cannot be read: ${(error as Error).message}`)
      return
    }
    if (this.channels.has(name)) {
      this.mailboxes.deliver(name, message)
      return
    }
    const members = this.groups.get(name)
    if (members === undefined) return
    // Checked once, not per member: a flat message's copy is a spread.
    const flat = isFlatMessage(message)
    let first = true
    for (const channel of members) {
      this.mailboxes.deliver(
        channel,
        first ? message : flat ? { ...message } : cloneMessage(message),
      )
      first = false
    }
  }

  private groupChannel(group: string): string {
    return `${this.prefix}__group__${group}`
  }

  private shardOf(name: string): Shard {
    return this.shards[consistentHash(name, this.shards.length)]!
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('The channel layer is closed')
  }
}

/**
 * One host: PUBLISH on its shared command connection, and one subscriber connection holding
 * every subscription of this process on that host. A lost subscriber is replaced and its
 * subscriptions renewed, with a warning; messages published meanwhile are lost.
 */
class Shard {
  private readonly wanted = new Set<string>()
  private subscriber: Promise<RedisConnection> | undefined
  private readonly subscribedOn = new WeakMap<RedisConnection, Set<string>>()
  private retry: NodeJS.Timeout | undefined
  private failures = 0
  private closed = false

  constructor(
    readonly host: HostConnections,
    private readonly onMessage: (channel: string, data: Buffer) => void,
  ) {}

  async publish(channel: string, data: Buffer): Promise<void> {
    await this.host.call(['PUBLISH', channel, data])
  }

  async subscribe(channel: string): Promise<void> {
    this.wanted.add(channel)
    const connection = await this.connection()
    await this.subscribeOn(connection, channel)
  }

  async unsubscribe(channel: string): Promise<void> {
    this.wanted.delete(channel)
    const connection = await this.subscriber?.catch(() => undefined)
    const subscribed = connection === undefined ? undefined : this.subscribedOn.get(connection)
    if (connection === undefined || connection.lost || !subscribed?.delete(channel)) return
    await connection.unsubscribe(channel)
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    const subscriber = this.subscriber
    this.subscriber = undefined
    await subscriber?.then((c) => c.close()).catch(() => undefined)
    await this.host.close()
  }

  private async subscribeOn(connection: RedisConnection, channel: string): Promise<void> {
    const subscribed = this.subscribedOn.get(connection)!
    if (subscribed.has(channel)) return
    subscribed.add(channel)
    try {
      await connection.subscribe(channel, (data) => this.onMessage(channel, data))
    } catch (error) {
      subscribed.delete(channel)
      throw error
    }
  }

  /** The live subscriber connection, opening one (and renewing subscriptions) if needed. */
  private connection(): Promise<RedisConnection> {
    const current = this.subscriber
    if (current !== undefined) {
      return current.then((c) => (c.lost && this.subscriber === current ? this.reopen() : c))
    }
    return this.reopen()
  }

  private reopen(): Promise<RedisConnection> {
    const next = this.host
      .open(() => this.scheduleRetry())
      .then((connection) => {
        this.subscribedOn.set(connection, new Set())
        this.failures = 0
        return connection
      })
    this.subscriber = next
    next.catch(() => {
      if (this.subscriber === next) this.subscriber = undefined
      this.scheduleRetry()
    })
    return next
  }

  /** After a loss, reconnect with a growing pause and subscribe everything again. */
  private scheduleRetry(): void {
    if (this.closed || this.retry !== undefined || this.wanted.size === 0) return
    this.failures++
    const pause = Math.min(100 * 2 ** Math.min(this.failures - 1, 5), 2000)
    this.retry = setTimeout(() => {
      this.retry = undefined
      if (this.closed || this.wanted.size === 0) return
      this.connection()
        .then((connection) =>
          Promise.all([...this.wanted].map((channel) => this.subscribeOn(connection, channel))),
        )
        .catch(() => this.scheduleRetry())
    }, pause)
    this.retry.unref()
  }
}

function logFailure(error: unknown): void {
  // An unreachable host is logged once by its HostConnections, not once per channel.
  if (error instanceof RedisConnectionError) return
  logger.warn(`Redis pub/sub subscription failed: ${(error as Error).message}`)
}
