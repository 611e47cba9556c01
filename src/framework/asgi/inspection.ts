/**
 * What a channel layer reports about itself to an observer such as the server's dashboard
 * (`channels-ts/server`'s inspector). The contract between the framework's layers and the
 * server, kept here with the other contracts of the two halves, since the server imports nothing
 * else of the framework. Reports are plain data, built only when somebody asks.
 * @module
 */

/** One channel's queue, as this process sees it. */
export interface ChannelReport {
  name: string
  /** Messages queued (in-memory) or buffered in this process (Redis). */
  queued: number
  /** The most it holds before a send is refused (in-memory) or the oldest is dropped (Redis). */
  capacity: number
}

/** One group, as this process sees it. */
export interface GroupReport {
  name: string
  /** Member channels (in this process only, for the Redis pub/sub layer). */
  members: number
  /** `groupSend` calls this process made to it since the layer was first inspected. */
  sends: number
}

/** A layer's state; counters run from the layer's creation. */
export interface LayerReport {
  /** The class, e.g. `InMemoryChannelLayer`. */
  backend: string
  /** Where it lives (`in this process`, or the Redis hosts). */
  location: string
  channels: ChannelReport[]
  /** Null when the layer does not know its groups (the core Redis layer keeps them in Redis). */
  groups: GroupReport[] | null
  /** Sends refused with ChannelFull. */
  refused: number
  /** Messages lost without an error: a full member skipped by groupSend, a full buffer. */
  dropped: number
  /** Messages that expired unread. */
  expired: number
}

/**
 * A layer that reports (the built-in ones do). `inspect()` also starts counting group sends;
 * until it is first called a layer counts nothing per message.
 */
export interface InspectableLayer {
  inspect(): LayerReport
  /** A group's member channels (this process's, where the layer keeps them elsewhere). */
  groupMembers(group: string): string[] | null
}

/** The layer, when it can report, else null. */
export function asInspectable(layer: unknown): InspectableLayer | null {
  if (typeof layer !== 'object' || layer === null) return null
  const candidate = layer as Partial<InspectableLayer>
  return typeof candidate.inspect === 'function' && typeof candidate.groupMembers === 'function'
    ? (candidate as InspectableLayer)
    : null
}

/**
 * The ASGI scope extension an inspecting server (the dashboard) adds to each connection's scope:
 * a record middleware writes what the server cannot see itself, since middleware passes copies
 * of the scope on (the copies share this record). Absent when nobody inspects.
 */
export const CONNECTION_NOTES = 'channels-ts.connection'

/** What middleware tells an inspecting server about a connection. */
export interface ConnectionNotes {
  /** The authenticated user's name; null for an anonymous connection. */
  user?: string | null
}

/** The notes record of a scope, when its server inspects connections. */
export function connectionNotes(scope: object): ConnectionNotes | undefined {
  const extensions = (scope as { extensions?: unknown }).extensions
  if (typeof extensions !== 'object' || extensions === null) return undefined
  const notes = (extensions as Record<string, unknown>)[CONNECTION_NOTES]
  return typeof notes === 'object' && notes !== null ? notes : undefined
}
