/**
 * Sends that return once they are queued on a live Redis connection, not when Redis replies.
 *
 * A consumer handles its messages one at a time, and a chat consumer awaits a `groupSend` per
 * message: awaiting Redis's reply there costs the sender a round trip, at least one event-loop
 * turn, per message, so a busy room's messages reach Redis one turn apart and every member's
 * socket is written once per message. Returning once the command is queued lets the sender go
 * on at once: the messages of a turn reach Redis together, come back together, and each socket is
 * written once for all of them. Nothing the caller could act on is lost: a group send has no
 * result in channels_redis (it only logs members over capacity), and a PUBLISH's reply is a
 * subscriber count. What changes is when a failure shows:
 *
 * - a message that cannot be encoded, and a host that is down (or not yet connected) when the
 *   send starts, still reject the send itself: the layers only write behind on a live connection;
 * - a connection lost after the command was queued is logged (the message is lost, as it would
 *   be for a channels_redis caller whose process went on).
 *
 * Order is kept: commands queued on one connection reach Redis in order, and a send that would
 * go out on another connection than the ones still in flight first waits for those (see
 * `lane`). At most `limit` sends are in flight; past that the caller waits for its own, so a
 * slow Redis slows the senders instead of growing memory.
 * @module
 */
import { getLogger } from '../../asgi/logging.js'

const logger = getLogger('channels.layers.redis')

/** Sends in flight before a caller waits for its own. */
const DEFAULT_LIMIT = 128

export class WriteBehind {
  private readonly inFlight = new Set<Promise<unknown>>()
  /** What the sends in flight go through (a host); a send through another waits for them. */
  private lane: unknown = undefined

  constructor(private readonly limit = DEFAULT_LIMIT) {}

  /** Sends still in flight. */
  get size(): number {
    return this.inFlight.size
  }

  /**
   * Whether a send through `lane` may be left in flight: under the limit, and nothing in flight
   * through another lane that it could overtake.
   */
  accepts(lane: unknown): boolean {
    return this.inFlight.size === 0 || (this.lane === lane && this.inFlight.size < this.limit)
  }

  /** Leave `send` in flight; its failure is logged as `what` failed. */
  track(lane: unknown, send: Promise<unknown>, what: string): void {
    this.lane = lane
    this.inFlight.add(send)
    send.then(
      () => this.inFlight.delete(send),
      (error: unknown) => {
        this.inFlight.delete(send)
        logger.error(`${what} failed after it was queued: ${(error as Error).message}`)
      },
    )
  }

  /** Settles when every send in flight now has (close and flush wait for them). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight])
  }
}
