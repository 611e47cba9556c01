/**
 * Channels' `InMemoryChannelLayer`: per-process channels and groups, for development, tests and
 * single-process deployments. Messages are deep-copied, FIFO per channel, bounded by capacity
 * and dropped after `expiry` seconds; group memberships last `group_expiry` seconds.
 * @module
 */
import { CancelledError, ChannelFull, ValueError } from '../asgi/errors.js'
import { handOvers, NOT_PENDING, type HandOver } from '../asgi/fast-path.js'
import type { InspectableLayer, LayerReport } from '../asgi/inspection.js'
import type { ChannelMessage } from '../asgi/types.js'
import { capacityFor, checkCapacity, compileCapacities } from './capacity.js'
import type { CapacityRule, ChannelCapacityInput } from './capacity.js'
import { getLogger } from '../asgi/logging.js'
import { ChannelQueue, PromiseWaiter, WaiterSet } from './channel-queue.js'
import type { ChannelQueueView } from './channel-queue.js'
import { cloneMessage, isFlatMessage } from './clone.js'
import type { ChannelLayer, LayerExtension, LayerReceiver } from './types.js'
import { describeValue } from '../../util/describe.js'
import {
  MAX_NAME_LENGTH,
  requireValidChannelName,
  requireValidGroupName,
  requireValidMessage,
} from './validation.js'

/**
 * Options, in camelCase or in Channels' CONFIG spelling (`group_expiry`, `channel_capacity`).
 * Times are SECONDS, like Channels' CONFIG keys.
 */
export interface InMemoryChannelLayerOptions {
  /** Seconds a queued message lives before it is dropped (default 60). */
  expiry?: number
  /** Seconds a group membership lasts after its last `groupAdd` (default 86400). */
  groupExpiry?: number
  group_expiry?: number
  /** Messages a channel holds before `send` rejects with ChannelFull (default 100). */
  capacity?: number
  /** Per-channel capacities: glob strings or RegExps → capacity, first match wins. */
  channelCapacity?: ChannelCapacityInput
  channel_capacity?: ChannelCapacityInput
}

const KNOWN_OPTIONS = new Set([
  'expiry',
  'groupExpiry',
  'group_expiry',
  'capacity',
  'channelCapacity',
  'channel_capacity',
])

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
const LETTERS_4 = LETTERS.length ** 4

const logger = getLogger('channels.layers')

/** A message taken for a `receiveInto` receiver, handed over in the shared batch. */
const TO_RECEIVER: HandOver<LayerReceiver, ChannelMessage> = {
  run: (receiver, message) => {
    receiver.layerMessage(message)
  },
  failed: (error) => {
    // A receiver must not throw; if one does, the others still get their messages.
    logger.error('A channel layer receiver threw while taking a message', error)
  },
}

/** The in-process channel layer (Channels' `channels.layers.InMemoryChannelLayer`). */
export class InMemoryChannelLayer implements ChannelLayer, InspectableLayer {
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush']
  /** Message lifetime in seconds. */
  readonly expiry: number
  /** Group membership lifetime in seconds. */
  readonly groupExpiry: number
  /** Default per-channel capacity. */
  readonly capacity: number

  private readonly capacityRules: CapacityRule[]
  private readonly expiryMs: number
  private readonly groupExpiryMs: number
  private readonly _channels = new Map<string, ChannelQueue>()
  private readonly _groups = new Map<string, Map<string, number>>()
  // Lower bounds on the earliest message / membership expiry: cleanup scans only once one of
  // them has passed, instead of on every receive as Channels does (O(all messages) each time).
  private nextMessageExpiry = Infinity
  private nextGroupExpiry = Infinity
  private readonly watched = new WeakMap<AbortSignal, WaiterSet>()
  // newChannelNow's scratch space.
  private readonly nameCodes: number[] = []
  // What inspect() reports. Failures are counted always (they are off the fast path); group
  // sends only once somebody inspects, so an unobserved layer does no bookkeeping per message.
  private refused = 0
  private dropped = 0
  private expired = 0
  private groupSends: Map<string, number> | null = null

  constructor(options: InMemoryChannelLayerOptions = {}) {
    const given: unknown = options
    if (given === null || typeof given !== 'object' || Array.isArray(given)) {
      throw new TypeError('InMemoryChannelLayer options must be an object')
    }
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) {
        throw new TypeError(`InMemoryChannelLayer got an unexpected option '${key}'`)
      }
    }
    this.expiry = checkSeconds(options.expiry ?? 60, 'expiry')
    this.groupExpiry = checkSeconds(
      either(options, 'groupExpiry', 'group_expiry') ?? 86400,
      'group_expiry',
    )
    this.capacity = checkCapacity(options.capacity ?? 100, 'capacity')
    this.capacityRules = compileCapacities(either(options, 'channelCapacity', 'channel_capacity'))
    this.expiryMs = this.expiry * 1000
    this.groupExpiryMs = this.groupExpiry * 1000
  }

  /**
   * Live channels: queued messages, waiting receivers, or a `receiveInto` receiver between two
   * messages (until `cancelReceive`). Drained channels are removed.
   */
  get channels(): ReadonlyMap<string, ChannelQueueView> {
    return this._channels
  }

  /** Groups: group → (channel → join time in ms). Empty groups are removed. */
  get groups(): ReadonlyMap<string, ReadonlyMap<string, number>> {
    return this._groups
  }

  /** The capacity of a channel: the first matching `channel_capacity` rule, else `capacity`. */
  getCapacity(channel: string): number {
    return capacityFor(this.capacityRules, channel, this.capacity)
  }

  /** Queue a deep copy of `message` on `channel`; rejects with ChannelFull at capacity. */
  async send(channel: string, message: ChannelMessage): Promise<void> {
    requireValidMessage(message)
    requireValidChannelName(channel)
    const now = Date.now()
    if (this.deliver(channel, message, now)) return
    // Full: if messages may have expired, clean up and try once more. Channels never cleans on
    // send, so a channel full of expired messages refused sends until someone received.
    if (now > this.nextMessageExpiry) {
      this.cleanMessages(now)
      if (this.deliver(channel, message, now)) return
    }
    this.refused++
    throw new ChannelFull(channel)
  }

  /**
   * The next message on `channel`, waiting for one if needed. An aborted `signal` rejects with
   * its reason and takes no message: one that arrives later waits for the next receive.
   */
  receive(channel: string, options?: { signal?: AbortSignal }): Promise<ChannelMessage> {
    // Not `async`: this is the hot path of every consumer, and the extra promise an async
    // function wraps around `wait()` costs a microtask hop per delivery.
    try {
      requireValidChannelName(channel)
    } catch (err) {
      return Promise.reject(err)
    }
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(signal.reason as unknown)
    this.cleanIfDue(Date.now())
    let queue = this._channels.get(channel)
    if (queue !== undefined && queue.size > 0) {
      const message = queue.shift()
      if (queue.idle) this._channels.delete(channel)
      return Promise.resolve(message)
    }
    if (queue === undefined) {
      queue = new ChannelQueue(this.getCapacity(channel))
      this._channels.set(channel, queue)
    }
    return this.wait(channel, queue, signal)
  }

  /**
   * Arm `receiver` for the next message on `channel` (see ChannelLayer.receiveInto). The
   * channel's entry stays while the receiver dispatches, so re-arming allocates nothing; it goes
   * with `cancelReceive`. Throws TypeError for an invalid channel name.
   */
  receiveInto(channel: string, receiver: LayerReceiver): void {
    let queue = this._channels.get(channel)
    if (queue === undefined) {
      // The names of existing entries were checked when the entry was made.
      requireValidChannelName(channel)
      this.cleanIfDue(Date.now())
      queue = new ChannelQueue(this.getCapacity(channel))
      this._channels.set(channel, queue)
    } else if (queue.size > 0) {
      this.cleanIfDue(Date.now())
      // Cleaning may have emptied and dropped this channel.
      if (queue.size > 0) {
        handOvers.add(TO_RECEIVER, receiver, queue.shift())
        return
      }
      if (this._channels.get(channel) !== queue) this._channels.set(channel, queue)
    }
    queue.addWaiter(receiver)
  }

  /**
   * Disarm `receiver` (see ChannelLayer.cancelReceive): a message already taken for it goes
   * back to the head of the channel; an entry left idle is dropped.
   */
  cancelReceive(channel: string, receiver: LayerReceiver): void {
    const queue = this._channels.get(channel)
    if (queue === undefined || !queue.removeWaiter(receiver)) this.unschedule(channel, receiver)
    const current = this._channels.get(channel)
    if (current !== undefined && current.idle) this._channels.delete(channel)
  }

  /** A fresh process-local channel name: {@link newChannelNow}'s, as a promise. */
  async newChannel(prefix = 'specific.'): Promise<string> {
    return this.newChannelNow(prefix)
  }

  /**
   * A fresh process-local channel name, synchronously: `prefix + '.inmemory!' + 12 random
   * letters`. Consumers name their channel with this (see ChannelLayer.newChannelNow) and
   * `newChannel` is built on it: a subclass that names channels differently overrides this one.
   */
  newChannelNow(prefix = 'specific.'): string {
    // The double dot of the default ("specific..inmemory!…") is Channels' own; kept for parity.
    // Built as one flat string: a concatenation would be a tree of string pieces, and every
    // consumer keeps its name (and the layer keys maps with it) for its whole life.
    const head = `${prefix}.inmemory!`
    // Too long to be valid anyway: let validation say so (and keep the spread below small).
    if (head.length + 12 >= MAX_NAME_LENGTH) requireValidChannelName(head + 'x'.repeat(12))
    const codes = this.nameCodes
    codes.length = head.length + 12
    for (let i = 0; i < head.length; i++) codes[i] = head.charCodeAt(i)
    // Four letters per random number (52^4 < 2^23: each digit stays uniform).
    for (let i = 0; i < 12; i += 4) {
      let draw = Math.floor(Math.random() * LETTERS_4)
      for (let j = 0; j < 4; j++) {
        codes[head.length + i + j] = LETTERS.charCodeAt(draw % LETTERS.length)
        draw = Math.floor(draw / LETTERS.length)
      }
    }
    const name = String.fromCharCode.apply(null, codes)
    requireValidChannelName(name)
    return name
  }

  /** Add `channel` to `group` (or refresh its join time). */
  async groupAdd(group: string, channel: string): Promise<void> {
    requireValidGroupName(group)
    requireValidChannelName(channel)
    let members = this._groups.get(group)
    if (members === undefined) {
      members = new Map()
      this._groups.set(group, members)
    }
    const now = Date.now()
    members.set(channel, now)
    const expires = now + this.groupExpiryMs
    if (expires < this.nextGroupExpiry) this.nextGroupExpiry = expires
  }

  /** Remove `channel` from `group`; a no-op when it is not a member. Empty groups are deleted. */
  async groupDiscard(group: string, channel: string): Promise<void> {
    requireValidChannelName(channel)
    requireValidGroupName(group)
    const members = this._groups.get(group)
    if (members === undefined) return
    members.delete(channel)
    if (members.size === 0) this._groups.delete(group)
  }

  /** Send a copy to every member; members at capacity are skipped (never ChannelFull). */
  async groupSend(group: string, message: ChannelMessage): Promise<void> {
    requireValidMessage(message)
    requireValidGroupName(group)
    const now = Date.now()
    this.cleanIfDue(now)
    const members = this._groups.get(group)
    if (members === undefined) return
    if (this.groupSends !== null) this.groupSends.set(group, (this.groupSends.get(group) ?? 0) + 1)
    // One look at the message instead of a generic deep copy per member.
    const flat = isFlatMessage(message)
    for (const channel of members.keys()) {
      if (!this.deliver(channel, message, now, flat)) this.dropped++
    }
  }

  /** The layer's channels, groups and counters (InspectableLayer); starts counting group sends. */
  inspect(): LayerReport {
    const sends = (this.groupSends ??= new Map<string, number>())
    const channels = []
    for (const [name, queue] of this._channels) {
      channels.push({ name, queued: queue.size, capacity: queue.capacity })
    }
    const groups = []
    for (const [name, members] of this._groups) {
      groups.push({ name, members: members.size, sends: sends.get(name) ?? 0 })
    }
    // Groups gone since: their counts would otherwise stay for the process's life.
    for (const name of sends.keys()) if (!this._groups.has(name)) sends.delete(name)
    return {
      backend: 'InMemoryChannelLayer',
      location: 'in this process',
      channels,
      groups,
      refused: this.refused,
      dropped: this.dropped,
      expired: this.expired,
    }
  }

  /** A group's member channels, or null when there is no such group. */
  groupMembers(group: string): string[] | null {
    const members = this._groups.get(group)
    return members === undefined ? null : [...members.keys()]
  }

  /** Drop every queued message and every group. Waiting receivers keep waiting. */
  async flush(): Promise<void> {
    for (const [name, queue] of this._channels) {
      queue.clear()
      if (queue.idle) this._channels.delete(name)
    }
    this._groups.clear()
    this.nextMessageExpiry = Infinity
    this.nextGroupExpiry = Infinity
  }

  /**
   * Flush, and reject waiting receivers with CancelledError. The layer stays usable (Channels'
   * InMemory close is a no-op; a receive pending forever on a closed layer would leak).
   */
  async close(): Promise<void> {
    const waiters: LayerReceiver[] = []
    for (const queue of this._channels.values()) waiters.push(...queue.takeAllWaiters())
    this._channels.clear()
    await this.flush()
    for (const waiter of waiters) {
      if (waiter instanceof PromiseWaiter) waiter.group?.delete(waiter)
      waiter.layerError(new CancelledError('Channel layer closed'))
    }
  }

  /**
   * Hand the message to a waiter or queue it; false when the channel is full. `flat` says the
   * message holds only primitives, so a spread is already a deep copy.
   */
  private deliver(channel: string, message: ChannelMessage, now: number, flat = false): boolean {
    // Copy before touching any state: a message that cannot be copied (a function inside)
    // must leave neither an empty channel entry nor a waiter without its message.
    let queue = this._channels.get(channel)
    if (queue !== undefined && queue.waiting > 0) {
      const copy = flat ? { ...message } : cloneMessage(message)
      const waiter = queue.takeWaiter() as LayerReceiver
      if (waiter instanceof PromiseWaiter) {
        waiter.group?.delete(waiter)
        if (queue.idle) this._channels.delete(channel)
        waiter.resolve(copy)
      } else {
        // The entry stays: the receiver re-arms once it has dispatched this message.
        handOvers.add(TO_RECEIVER, waiter, copy)
      }
      return true
    }
    if (queue !== undefined && queue.size >= queue.capacity) return false
    const copy = flat ? { ...message } : cloneMessage(message)
    if (queue === undefined) {
      queue = new ChannelQueue(this.getCapacity(channel))
      this._channels.set(channel, queue)
    }
    const expires = now + this.expiryMs
    queue.push(copy, expires)
    if (expires < this.nextMessageExpiry) this.nextMessageExpiry = expires
    return true
  }

  private wait(channel: string, queue: ChannelQueue, signal: AbortSignal | undefined) {
    return new Promise<ChannelMessage>((resolve, reject) => {
      const group = signal === undefined ? undefined : this.watch(signal)
      const waiter = new PromiseWaiter(resolve, reject, channel, queue, group)
      group?.add(waiter)
      queue.addWaiter(waiter)
    })
  }

  /** Take back a message scheduled for `receiver` and put it at the head of `channel`. */
  private unschedule(channel: string, receiver: LayerReceiver): void {
    const message = handOvers.takeBack(TO_RECEIVER, receiver)
    if (message === NOT_PENDING) return
    let queue = this._channels.get(channel)
    if (queue === undefined) {
      queue = new ChannelQueue(this.getCapacity(channel))
      this._channels.set(channel, queue)
    }
    const expires = Date.now() + this.expiryMs
    queue.unshift(message, expires)
    if (expires < this.nextMessageExpiry) this.nextMessageExpiry = expires
  }

  /**
   * The set of waiters using `signal`, with ONE abort listener per signal for its lifetime:
   * adding and removing an EventTarget listener per receive cost more than the rest of a
   * delivery (a consumer re-arms its receive with the same signal after every message).
   */
  private watch(signal: AbortSignal): WaiterSet {
    let group = this.watched.get(signal)
    if (group === undefined) {
      const waiters = new WaiterSet()
      group = waiters
      this.watched.set(signal, waiters)
      signal.addEventListener(
        'abort',
        () => {
          this.watched.delete(signal)
          for (const waiter of waiters.drain()) {
            const { queue, channel } = waiter
            queue.removeWaiter(waiter)
            if (queue.idle && this._channels.get(channel) === queue) this._channels.delete(channel)
            waiter.reject(signal.reason)
          }
        },
        { once: true },
      )
    }
    return group
  }

  private cleanIfDue(now: number): void {
    if (now > this.nextMessageExpiry) this.cleanMessages(now)
    if (now > this.nextGroupExpiry) this.cleanGroups(now)
  }

  /** Drop expired messages; a channel that lost one leaves every group (Channels' rule). */
  private cleanMessages(now: number): void {
    let next = Infinity
    let expired: Set<string> | undefined
    for (const [name, queue] of this._channels) {
      const dropped = queue.dropExpired(now)
      if (dropped > 0) {
        this.expired += dropped
        ;(expired ??= new Set()).add(name)
      }
      if (queue.idle) this._channels.delete(name)
      else if (queue.headExpiry < next) next = queue.headExpiry
    }
    this.nextMessageExpiry = next
    if (expired === undefined) return
    for (const [group, members] of this._groups) {
      for (const name of expired) members.delete(name)
      if (members.size === 0) this._groups.delete(group)
    }
  }

  /** End memberships older than group_expiry. */
  private cleanGroups(now: number): void {
    let next = Infinity
    for (const [group, members] of this._groups) {
      for (const [name, joined] of members) {
        const expires = joined + this.groupExpiryMs
        if (expires < now) members.delete(name)
        else if (expires < next) next = expires
      }
      if (members.size === 0) this._groups.delete(group)
    }
    this.nextGroupExpiry = next
  }
}

function either<
  K1 extends keyof InMemoryChannelLayerOptions,
  K2 extends keyof InMemoryChannelLayerOptions,
>(
  options: InMemoryChannelLayerOptions,
  camel: K1,
  snake: K2,
): InMemoryChannelLayerOptions[K1] | InMemoryChannelLayerOptions[K2] {
  if (options[camel] !== undefined && options[snake] !== undefined) {
    throw new ValueError(`Give ${camel} or ${snake}, not both`)
  }
  return options[camel] ?? options[snake]
}

function checkSeconds(value: unknown, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number of seconds, got ${describeValue(value)}`)
  }
  if (value <= 0) throw new ValueError(`${name} must be positive, got ${value}`)
  return value
}
