/**
 * The channel-layer contract. In-memory implements it today; a Redis layer speaking
 * channels_redis's wire format (sorted-set queues, msgpack, `__asgi_channel__`) implements the
 * same interface later, so consumers never know which one they have.
 * @module
 */
import type { ChannelMessage } from '../asgi/types.js'

/** Optional capabilities, as in Channels: `'groups'` and `'flush'`. */
export type LayerExtension = 'groups' | 'flush'

/** A channel layer: named FIFO channels with capacity and expiry, plus groups of channels. */
export interface ChannelLayer {
  /** The extensions this layer supports (`['groups', 'flush']` for in-memory and Redis). */
  readonly extensions: readonly LayerExtension[]

  /** Queue a message on a channel. Rejects with `ChannelFull` when the channel is at capacity. */
  send(channel: string, message: ChannelMessage): Promise<void>
  /**
   * The next message on a channel, waiting until one arrives. Cancel-safe: pass an AbortSignal to
   * stop waiting; an aborted receive loses no message.
   */
  receive(channel: string, options?: { signal?: AbortSignal }): Promise<ChannelMessage>
  /** A fresh process-specific channel name (`<prefix>…!<random>`). */
  newChannel(prefix?: string): Promise<string>
  /**
   * Optional: what `newChannel` would resolve to, made synchronously (throws where it would
   * reject), or null when only `newChannel` can make the name. Consumers call it first, so a
   * layer that has it makes its names here and builds `newChannel` on it.
   */
  newChannelNow?(prefix?: string): string | null

  /** Add a channel to a group (groups extension). */
  groupAdd(group: string, channel: string): Promise<void>
  /** Remove a channel from a group; a no-op when it is not a member (groups extension). */
  groupDiscard(group: string, channel: string): Promise<void>
  /** Send to every member; never rejects with `ChannelFull`: full members are skipped. */
  groupSend(group: string, message: ChannelMessage): Promise<void>

  /** Drop every channel and group (flush extension). */
  flush(): Promise<void>
  /** Release resources (timers, connections). */
  close(): Promise<void>

  /**
   * Optional fast path of `receive` for long-lived receivers such as consumers: arm `receiver`
   * for the next message on `channel`. It gets exactly one `layerMessage` (or `layerError`),
   * always later than this call and never inside the `send`/`groupSend` that delivered it; call
   * again for the next message. No promise, AbortSignal or closure per message.
   */
  receiveInto?(channel: string, receiver: LayerReceiver): void
  /**
   * Disarm a `receiveInto`. Cancel-safe like an aborted `receive`: a message taken for
   * `receiver` but not yet handed to it goes back to the front of the channel.
   */
  cancelReceive?(channel: string, receiver: LayerReceiver): void
}

/** What `receiveInto` delivers to (a consumer's dispatch loop). Neither method may throw. */
export interface LayerReceiver {
  /** The next message of the channel this receiver was armed for. */
  layerMessage(message: ChannelMessage): void
  /** The receive failed (e.g. CancelledError when the layer closed). */
  layerError(error: unknown): void
}

/** How a layer is configured in settings: `CHANNEL_LAYERS = { default: { BACKEND, CONFIG } }`. */
export interface ChannelLayerConfig {
  /**
   * A built-in backend name (`'channels.layers.InMemoryChannelLayer'` or `'InMemoryChannelLayer'`),
   * or a constructor / factory taking the CONFIG object.
   */
  BACKEND:
    | string
    | (new (config: Record<string, unknown>) => ChannelLayer)
    | ((config: Record<string, unknown>) => ChannelLayer)
  CONFIG?: Record<string, unknown>
  TEST_CONFIG?: Record<string, unknown>
}
