/**
 * What a running server tells an observer about its connections (`Server.inspect()`): plain
 * data, built only when asked. The dashboard (`dashboard/`) turns it into its snapshot; the
 * per-connection figures it reads are fields every connection keeps anyway, so a server nobody
 * inspects pays nothing for them but two counters per WebSocket message.
 * @module
 */
import type { ConnectionNotes } from '../framework/asgi/inspection.js'
import type { Scope } from '../framework/asgi/types.js'

/** One connection in the server's table, as `Server.inspect()` reports it. */
export interface ConnectionEntry {
  /** Unique in this process; what `Server.closeConnection` takes. */
  id: number
  protocol: 'http' | 'websocket'
  /** The request target's path, as the client sent it (`/ws/chat/lobby/`). */
  path: string
  /** `host:port` of the client (the proxied one with proxy headers), null when unknown. */
  client: string | null
  /** `connecting` (handshake or request undecided), `open`, `closing`, `closed` (app finishing). */
  state: 'connecting' | 'open' | 'closing' | 'closed'
  /** Milliseconds since the request arrived. */
  ageMs: number
  /** WebSocket messages received from the client and sent to it (0 for HTTP). */
  messagesIn: number
  messagesOut: number
  /** Bytes queued for a slow client (WebSocket), 0 when none. */
  bufferedBytes: number
  /**
   * The scope the server built for the application (before any middleware copied it); null
   * unless the server retains scopes (`Server.retainScopes()`).
   */
  scope: Scope | null
  /** What middleware noted (the user); null unless the server notes connections. */
  notes: ConnectionNotes | null
}

/**
 * Counters since the server was created, and the connections it tracks now. Connections served
 * by a mounted application (the dashboard itself) are the server's own: left out of all of it.
 */
export interface ServerInspection {
  connections: ConnectionEntry[]
  /** Connections accepted into the table, per protocol. */
  opened: { http: number; websocket: number }
  /** Connections that left the table (client gone and application finished), per protocol. */
  closed: { http: number; websocket: number }
  /** WebSocket messages received and sent, open and closed connections together. */
  messagesIn: number
  messagesOut: number
}
