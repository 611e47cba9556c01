/**
 * The process side of a Redis layer: per-channel buffers of messages already taken from Redis
 * and the receivers waiting on them (`receive()` promises and `receiveInto` receivers). The
 * layer feeds it with `deliver`; it tells the layer, per Redis key, when the first receiver of
 * that key starts waiting (`onDemand`), so the layer runs a receive loop only while somebody
 * waits: when nobody does, messages stay in Redis, where capacity applies.
 * @module
 */
import { CancelledError } from '../../asgi/errors.js'
import { handOvers, NOT_PENDING, type HandOver } from '../../asgi/fast-path.js'
import { getLogger } from '../../asgi/logging.js'
import type { ChannelReport } from '../../asgi/inspection.js'
import type { ChannelMessage } from '../../asgi/types.js'
import { ChannelQueue } from '../channel-queue.js'
import type { LayerReceiver } from '../types.js'

const logger = getLogger('channels.layers.redis')

/** A message taken for a `receiveInto` receiver, handed over in the shared batch. */
const TO_RECEIVER: HandOver<LayerReceiver, ChannelMessage> = {
  run: (receiver, message) => {
    receiver.layerMessage(message)
  },
  failed: (error) => {
    logger.error('A channel layer receiver threw while taking a message', error)
  },
}

/** A `receive()` call waiting for its message. */
class PromiseReceiver implements LayerReceiver {
  constructor(
    readonly resolve: (message: ChannelMessage) => void,
    readonly reject: (reason: unknown) => void,
  ) {}

  layerMessage(message: ChannelMessage): void {
    this.resolve(message)
  }

  layerError(error: unknown): void {
    this.reject(error)
  }
}

/** Options: how big a channel's buffer may grow, and which Redis key feeds a channel. */
export interface MailboxOptions {
  capacityOf(channel: string): number
  keyOf(channel: string): string
  /** The first receiver of `key` started waiting: make sure a loop is reading it. */
  onDemand(key: string): void
}

/** Buffers and receivers of the channels this process receives on. */
export class Mailboxes {
  private readonly boxes = new Map<string, ChannelQueue>()
  private readonly waitingPerKey = new Map<string, number>()
  /** Messages a full buffer dropped. */
  dropped = 0

  constructor(private readonly options: MailboxOptions) {}

  /** Whether anybody waits on a channel fed by `key`. */
  wanted(key: string): boolean {
    return (this.waitingPerKey.get(key) ?? 0) > 0
  }

  /** Whether anybody waits on `channel` itself. */
  hasReceiver(channel: string): boolean {
    return (this.boxes.get(channel)?.waiting ?? 0) > 0
  }

  /** The next message for `channel`: buffered, or the next one delivered. */
  receive(channel: string, signal?: AbortSignal): Promise<ChannelMessage> {
    if (signal?.aborted) return Promise.reject(signal.reason as unknown)
    const box = this.boxes.get(channel)
    if (box !== undefined && box.size > 0) {
      const message = box.shift()
      if (box.idle) this.boxes.delete(channel)
      return Promise.resolve(message)
    }
    return new Promise((resolve, reject) => {
      if (signal === undefined) {
        this.addReceiver(channel, new PromiseReceiver(resolve, reject))
        return
      }
      const onAbort = () => {
        if (this.removeReceiver(channel, receiver)) reject(signal.reason as Error)
      }
      const receiver = new PromiseReceiver(
        (message) => {
          signal.removeEventListener('abort', onAbort)
          resolve(message)
        },
        (error) => {
          signal.removeEventListener('abort', onAbort)
          reject(error)
        },
      )
      signal.addEventListener('abort', onAbort, { once: true })
      this.addReceiver(channel, receiver)
    })
  }

  /** Arm `receiver` for the next message of `channel` (ChannelLayer.receiveInto). */
  receiveInto(channel: string, receiver: LayerReceiver): void {
    const box = this.boxes.get(channel)
    if (box !== undefined && box.size > 0) {
      handOvers.add(TO_RECEIVER, receiver, box.shift())
      if (box.idle) this.boxes.delete(channel)
      return
    }
    this.addReceiver(channel, receiver)
  }

  /** Disarm `receiver`; a message already taken for it goes back to the head of its buffer. */
  cancelReceive(channel: string, receiver: LayerReceiver): void {
    if (this.removeReceiver(channel, receiver)) return
    const message = handOvers.takeBack(TO_RECEIVER, receiver)
    if (message === NOT_PENDING) return
    this.box(channel).unshift(message, Infinity)
  }

  /**
   * Hand `message` to the longest-waiting receiver of `channel`, or buffer it. A full buffer
   * drops its oldest message (channels_redis's BoundedQueue), with a warning.
   */
  deliver(channel: string, message: ChannelMessage): void {
    const box = this.boxes.get(channel)
    const receiver = box?.takeWaiter()
    if (receiver !== undefined) {
      this.countWaiting(channel, -1)
      if (box?.idle) this.boxes.delete(channel)
      if (receiver instanceof PromiseReceiver) receiver.resolve(message)
      else handOvers.add(TO_RECEIVER, receiver, message)
      return
    }
    const target = box ?? this.box(channel)
    if (target.size >= target.capacity) {
      target.shift()
      this.dropped++
      logger.warn(
        `Channel ${channel} is not reading its messages: its buffer is full ` +
          `(${target.capacity}), so the oldest one was dropped`,
      )
    }
    target.push(message, Infinity)
  }

  /** Each channel this process receives on, with what its buffer holds. */
  report(): ChannelReport[] {
    const channels: ChannelReport[] = []
    for (const [name, box] of this.boxes) {
      channels.push({ name, queued: box.size, capacity: box.capacity })
    }
    return channels
  }

  /** Drop every buffered message (flush); receivers keep waiting. */
  clearBuffers(): void {
    for (const [channel, box] of this.boxes) {
      box.clear()
      if (box.idle) this.boxes.delete(channel)
    }
  }

  /** Reject every waiting receiver with CancelledError and forget everything (close). */
  cancelAll(): void {
    const receivers: LayerReceiver[] = []
    for (const box of this.boxes.values()) receivers.push(...box.takeAllWaiters())
    this.boxes.clear()
    this.waitingPerKey.clear()
    for (const receiver of receivers)
      receiver.layerError(new CancelledError('Channel layer closed'))
  }

  private box(channel: string): ChannelQueue {
    let box = this.boxes.get(channel)
    if (box === undefined) {
      box = new ChannelQueue(this.options.capacityOf(channel))
      this.boxes.set(channel, box)
    }
    return box
  }

  private addReceiver(channel: string, receiver: LayerReceiver): void {
    this.box(channel).addWaiter(receiver)
    this.countWaiting(channel, 1)
  }

  private removeReceiver(channel: string, receiver: LayerReceiver): boolean {
    const box = this.boxes.get(channel)
    if (box === undefined || !box.removeWaiter(receiver)) return false
    this.countWaiting(channel, -1)
    if (box.idle) this.boxes.delete(channel)
    return true
  }

  private countWaiting(channel: string, change: 1 | -1): void {
    const key = this.options.keyOf(channel)
    const count = (this.waitingPerKey.get(key) ?? 0) + change
    if (count <= 0) this.waitingPerKey.delete(key)
    else this.waitingPerKey.set(key, count)
    if (change === 1 && count === 1) this.options.onDemand(key)
  }
}
