/**
 * The dashboard's data, as `channels-ts/server` exports it: what `Inspector.snapshot()` returns,
 * the samples of its history and the events of its log. Plain JSON-able data: the dashboard page
 * receives exactly these over its WebSocket, and a user can send them anywhere else.
 * @module
 */
import type { GroupReport, LayerReport } from '../../framework/asgi/inspection.js'
import type { ConnectionEntry } from '../inspection.js'

/** One open connection in the dashboard's table. */
export interface ConnectionRow extends Omit<ConnectionEntry, 'scope' | 'notes'> {
  /** The code generation serving it (runserver), null when unknown. */
  generation: number | null
  /**
   * Who the connection belongs to: the user AuthMiddleware noted (`'anonymous'` for none), else
   * `scope.user` of the server's scope; null when unknown.
   */
  user: string | null
}

/** Connections now and their rates. */
export interface ConnectionsSection {
  /** Connections in the server's table. */
  open: number
  byProtocol: { http: number; websocket: number }
  /** Open connections per path, most first. */
  byRoute: { protocol: 'http' | 'websocket'; path: string; count: number }[]
  /** Over the last sample interval. */
  openedPerSecond: number
  closedPerSecond: number
  /** The newest connections, at most `tableLimit` of them. */
  table: ConnectionRow[]
  /** Connections left out of `table`. */
  notListed: number
}

/** A group with its rate of `groupSend` calls, measured between two snapshots. */
export interface GroupRow extends GroupReport {
  sendsPerSecond: number
}

/** One channel layer alias. */
export interface LayerSection extends Omit<LayerReport, 'groups'> {
  alias: string
  groups: GroupRow[] | null
}

/** A generation of the user's code (runserver's hot reload). */
export interface GenerationRow {
  id: number
  /** Application instances (connections, requests, lifespan) it still serves. */
  instances: number
  /** The newest: new connections go to it. */
  current: boolean
}

/** The last build of the user's code. */
export interface BuildReport {
  /** ISO time it finished. */
  at: string
  ok: boolean
  /** How long it took (ms). */
  durationMs: number
  /** The generation it made, when it succeeded. */
  generation: number | null
  /** The error with its code frame, when it failed. */
  error: string | null
}

/** Hot reload: what is alive, what the last build did. */
export interface ReloadSection {
  generations: GenerationRow[]
  lastBuild: BuildReport | null
}

/** This process. */
export interface ProcessSection {
  pid: number
  /** Under `serve --workers`: which worker this is, of how many. */
  worker: { id: number; count: number } | null
  uptimeSeconds: number
  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
  /** CPU time over the last sample interval, as a share of one core (100 = one core busy). */
  cpuPercent: number
  /** Event-loop delay over the last sample interval (ms). */
  loopDelay: { meanMs: number; p99Ms: number; maxMs: number }
}

/** Everything the dashboard shows, at one moment. */
export interface DashboardSnapshot {
  /** ISO time it was taken. */
  time: string
  connections: ConnectionsSection
  /** Every channel layer built so far, by alias. */
  layers: LayerSection[]
  /** Null outside runserver (no reloads). */
  reload: ReloadSection | null
  process: ProcessSection
}

/** One point of the charts, taken every sample interval. */
export interface Sample {
  /** Epoch milliseconds. */
  time: number
  connections: number
  websockets: number
  openedPerSecond: number
  closedPerSecond: number
  messagesInPerSecond: number
  messagesOutPerSecond: number
  /** The 99th percentile of the event-loop delay over the interval (ms). */
  loopDelayMs: number
  cpuPercent: number
  rssBytes: number
}

/** One line of the event log. */
export interface DashboardEvent {
  /** Increasing within a process. */
  id: number
  /** ISO time. */
  time: string
  level: 'info' | 'warn' | 'error'
  /** The logger (`channels.server`, `channels.security`) or `reload`. */
  source: string
  message: string
  /** A stack trace or a build's code frame. */
  detail: string | null
}

/** What `Inspector.subscribe` listeners get. */
export type InspectorUpdate =
  { kind: 'event'; event: DashboardEvent } | { kind: 'sample'; sample: Sample }
