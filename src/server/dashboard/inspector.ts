/**
 * The dashboard's data source, usable without the page: `createInspector(server, options)`
 * samples the server and the process once a second into a short history (the charts), keeps the
 * last few hundred server events (the event log), and builds a full snapshot when asked. It
 * costs one unref'd timer per second and a native event-loop timer; everything per connection
 * or per layer channel is only read when `snapshot()` runs, which happens while somebody
 * watches.
 * @module
 */
import type { LogRecord } from '../../framework/asgi/logging.js'
import {
  asInspectable,
  type ConnectionNotes,
  type InspectableLayer,
} from '../../framework/asgi/inspection.js'
import type { Scope } from '../../framework/asgi/types.js'
import { describeValue } from '../../util/describe.js'
import { requestTarget, type AccessEvent } from '../access-log.js'
import type { ServerInspection } from '../inspection.js'
import { ProcessStats, round } from './process-stats.js'
import type {
  ConnectionRow,
  ConnectionsSection,
  DashboardEvent,
  DashboardSnapshot,
  GroupRow,
  InspectorUpdate,
  LayerSection,
  ReloadSection,
  Sample,
} from './types.js'

/** What the inspector needs of a server (`Server` has it). */
export interface InspectedServer {
  inspect(options?: { connections?: boolean }): ServerInspection
  closeConnection(id: number, code?: number, reason?: string): boolean
  /** Called when `describe` is given: the hook needs each connection's scope. */
  retainScopes?(): void
  /** Called on the first snapshot: from then on middleware notes each new connection's user. */
  noteConnections?(): void
}

/** Where the inspector finds what the server does not know. */
export interface InspectorOptions {
  /** The channel layers by alias (e.g. `() => channelLayers.backends`); layers that cannot report are left out. */
  layers?: () => Iterable<readonly [string, unknown]>
  /**
   * A connection's generation and user, from the scope the server built for it. Given, it makes
   * the server keep every new connection's scope (`Server.retainScopes`). The user column comes
   * from what AuthMiddleware notes (`CONNECTION_NOTES`) when the hook does not give it.
   */
  describe?: (scope: Scope) => { generation?: number | null; user?: string | null }
  /** Hot reload's state (runserver); omitted elsewhere. */
  reload?: () => ReloadSection
  /** This process's place under `serve --workers`. */
  worker?: { id: number; count: number } | null
  /** Milliseconds between samples (default 1000). */
  sampleIntervalMs?: number
  /** Samples kept (default 300: five minutes at one a second). */
  historyLength?: number
  /** Events kept (default 500). */
  eventLimit?: number
  /** Rows of the connection table at most (default 500). */
  tableLimit?: number
}

/** A live view of one server, its layers and its process. */
export interface Inspector {
  /** Everything now. Reading the layers starts their group-send counting (InspectableLayer). */
  snapshot(): DashboardSnapshot
  /** The samples kept, oldest first. */
  history(): Sample[]
  /** The events kept, oldest first. */
  events(): DashboardEvent[]
  /** Samples and events as they happen; returns the unsubscribe function. */
  subscribe(listener: (update: InspectorUpdate) => void): () => void
  /** A group's member channels on the layer `alias`; null when unknown. */
  groupMembers(alias: string, group: string): string[] | null
  /** Close a connection as the server (Server.closeConnection), and log it as an event. */
  closeConnection(id: number): boolean
  /** Add an event (a reload, or anything of the caller's own). */
  record(event: Omit<DashboardEvent, 'id' | 'time'>): void
  /**
   * Add a log record: warnings and errors of every logger, and the server's own info lines
   * (a connection closed for a too-big message, a ping unanswered). Others are ignored.
   */
  recordLog(record: LogRecord): void
  /**
   * Add an access event (the server's `onAction`), if it is one the log keeps: a refused
   * WebSocket handshake, an HTTP answer of 500 or more. The dashboard's own requests are not.
   */
  recordAccess(event: AccessEvent): void
  /** Stop sampling. */
  close(): void
}

/** Where the dashboard is mounted (app.ts); the inspector leaves its requests out of the log. */
export const DASHBOARD_PREFIX = '/_channels'

/** How far back a group's messages per second are measured (ms). */
const RATE_WINDOW_MS = 2000

/** The close code the dashboard's close button sends (a server-initiated, normal close). */
export const DASHBOARD_CLOSE_CODE = 1000
export const DASHBOARD_CLOSE_REASON = 'Closed from the dashboard'
/** How the server's log line for such a close ends (protocols/websocket.ts `closeByServer`). */
const CLOSED_FROM_THE_PAGE = `(${String(DASHBOARD_CLOSE_CODE)} ${DASHBOARD_CLOSE_REASON})`

/** Build an inspector for `server`; call `close()` when the server stops. */
export function createInspector(
  server: InspectedServer,
  options: InspectorOptions = {},
): Inspector {
  return new ServerInspector(server, options)
}

class ServerInspector implements Inspector {
  private readonly stats = new ProcessStats()
  private readonly samples: Sample[] = []
  private readonly log: DashboardEvent[] = []
  private readonly listeners = new Set<(update: InspectorUpdate) => void>()
  private readonly timer: NodeJS.Timeout
  private nextEventId = 1
  private previous: { at: number; inspection: ServerInspection }
  /**
   * Group sends per alias and group as earlier snapshots read them, newest last: a group's rate
   * is measured against the newest reading at least RATE_WINDOW_MS old.
   */
  private readonly groupReadings: { at: number; sends: Map<string, number> }[] = []

  constructor(
    private readonly server: InspectedServer,
    private readonly options: InspectorOptions,
  ) {
    if (options.describe !== undefined) server.retainScopes?.()
    this.previous = { at: performance.now(), inspection: server.inspect({ connections: false }) }
    this.timer = setInterval(() => this.sample(), options.sampleIntervalMs ?? 1000)
    this.timer.unref()
  }

  snapshot(): DashboardSnapshot {
    // From the first look on, new connections carry the notes the user column reads: a dashboard
    // nobody opened costs no memory per connection.
    this.server.noteConnections?.()
    const inspection = this.server.inspect()
    const latest = this.samples.at(-1)
    const memory = process.memoryUsage()
    const { loopDelay, cpuPercent } = this.stats.latest
    return {
      time: new Date().toISOString(),
      connections: this.connections(inspection, latest),
      layers: this.layers(),
      reload: this.options.reload?.() ?? null,
      process: {
        pid: process.pid,
        worker: this.options.worker ?? null,
        uptimeSeconds: Math.round(process.uptime()),
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        heapTotalBytes: memory.heapTotal,
        cpuPercent,
        loopDelay,
      },
    }
  }

  history(): Sample[] {
    return [...this.samples]
  }

  events(): DashboardEvent[] {
    return [...this.log]
  }

  subscribe(listener: (update: InspectorUpdate) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  groupMembers(alias: string, group: string): string[] | null {
    const layer = this.layer(alias)
    return layer === null ? null : layer.groupMembers(group)
  }

  closeConnection(id: number): boolean {
    const closed = this.server.closeConnection(id, DASHBOARD_CLOSE_CODE, DASHBOARD_CLOSE_REASON)
    if (closed) {
      this.record({
        level: 'info',
        source: 'dashboard',
        message: `Connection ${id} closed from the dashboard`,
        detail: null,
      })
    }
    return closed
  }

  record(event: Omit<DashboardEvent, 'id' | 'time'>): void {
    const full: DashboardEvent = {
      id: this.nextEventId++,
      time: new Date().toISOString(),
      level: event.level,
      source: event.source,
      message: event.message,
      detail: event.detail,
    }
    this.log.push(full)
    if (this.log.length > (this.options.eventLimit ?? 500)) this.log.shift()
    this.publish({ kind: 'event', event: full })
  }

  recordLog(record: LogRecord): void {
    if (record.level === 'debug') return
    if (record.level === 'info' && record.logger !== 'channels.server') return
    // The server's line for a close from the page: closeConnection recorded it already, by id.
    if (record.level === 'info' && record.message.endsWith(CLOSED_FROM_THE_PAGE)) return
    const error = record.error
    this.record({
      level: record.level,
      source: record.logger,
      message: record.message,
      detail:
        error instanceof Error
          ? (error.stack ?? error.message)
          : error === undefined
            ? null
            : `Thrown: ${describeValue(error)}`,
    })
  }

  recordAccess(event: AccessEvent): void {
    const path = event.path
    if (path === DASHBOARD_PREFIX || path.startsWith(`${DASHBOARD_PREFIX}/`)) return
    const client = event.client === null ? '' : ` [${event.client}]`
    if (event.protocol === 'websocket' && event.action === 'rejected') {
      const message = `WebSocket handshake refused: ${requestTarget(event)}${client}`
      this.record({ level: 'warn', source: 'channels.server', message, detail: null })
    } else if (event.protocol === 'http' && (event.status ?? 0) >= 500) {
      const message = `HTTP ${event.status} ${event.method ?? ''} ${requestTarget(event)}${client}`
      this.record({ level: 'error', source: 'channels.server', message, detail: null })
    }
  }

  close(): void {
    clearInterval(this.timer)
    this.stats.stop()
    this.listeners.clear()
  }

  private sample(): void {
    const now = performance.now()
    const inspection = this.server.inspect({ connections: false })
    const { at, inspection: before } = this.previous
    const perSecond = (count: number) => round((count * 1000) / Math.max(1, now - at))
    const { loopDelay, cpuPercent } = this.stats.take()
    const opened = (i: ServerInspection) => i.opened.http + i.opened.websocket
    const closed = (i: ServerInspection) => i.closed.http + i.closed.websocket
    const sample: Sample = {
      time: Date.now(),
      connections: opened(inspection) - closed(inspection),
      websockets: inspection.opened.websocket - inspection.closed.websocket,
      openedPerSecond: perSecond(opened(inspection) - opened(before)),
      closedPerSecond: perSecond(closed(inspection) - closed(before)),
      messagesInPerSecond: perSecond(inspection.messagesIn - before.messagesIn),
      messagesOutPerSecond: perSecond(inspection.messagesOut - before.messagesOut),
      loopDelayMs: loopDelay.p99Ms,
      cpuPercent,
      rssBytes: process.memoryUsage.rss(),
    }
    this.previous = { at: now, inspection }
    this.samples.push(sample)
    if (this.samples.length > (this.options.historyLength ?? 300)) this.samples.shift()
    this.publish({ kind: 'sample', sample })
  }

  private connections(
    inspection: ServerInspection,
    latest: Sample | undefined,
  ): ConnectionsSection {
    const byProtocol = { http: 0, websocket: 0 }
    const routes = new Map<
      string,
      { protocol: 'http' | 'websocket'; path: string; count: number }
    >()
    const rows: ConnectionRow[] = []
    for (const entry of inspection.connections) {
      byProtocol[entry.protocol]++
      const key = `${entry.protocol} ${entry.path}`
      const route = routes.get(key)
      if (route === undefined)
        routes.set(key, { protocol: entry.protocol, path: entry.path, count: 1 })
      else route.count++
      const { scope, notes, ...fields } = entry
      const described = (scope && this.options.describe?.(scope)) ?? {}
      rows.push({
        ...fields,
        generation: described.generation ?? null,
        user: described.user ?? noted(notes) ?? (scope && userOf(scope)),
      })
    }
    rows.sort((a, b) => a.ageMs - b.ageMs)
    const limit = this.options.tableLimit ?? 500
    return {
      open: inspection.connections.length,
      byProtocol,
      byRoute: [...routes.values()].sort((a, b) => b.count - a.count),
      openedPerSecond: latest?.openedPerSecond ?? 0,
      closedPerSecond: latest?.closedPerSecond ?? 0,
      table: rows.slice(0, limit),
      notListed: Math.max(0, rows.length - limit),
    }
  }

  private layers(): LayerSection[] {
    const sections: LayerSection[] = []
    const now = performance.now()
    const reading = { at: now, sends: new Map<string, number>() }
    const readings = this.groupReadings
    let base = 0
    while (base + 1 < readings.length && readings[base + 1]!.at <= now - RATE_WINDOW_MS) base++
    readings.splice(0, base)
    const reference = readings[0]
    for (const [alias, candidate] of this.options.layers?.() ?? []) {
      const layer = asInspectable(candidate)
      if (layer === null) continue
      const report = layer.inspect()
      let groups: GroupRow[] | null = null
      if (report.groups !== null) {
        groups = report.groups.map((group) => {
          const key = `${alias}\0${group.name}`
          reading.sends.set(key, group.sends)
          const before = reference?.sends.get(key)
          const rate =
            reference === undefined || before === undefined || now <= reference.at
              ? 0
              : round(((group.sends - before) * 1000) / (now - reference.at))
          return { ...group, sendsPerSecond: Math.max(0, rate) }
        })
      }
      sections.push({ ...report, alias, groups })
    }
    readings.push(reading)
    return sections
  }

  private layer(alias: string): InspectableLayer | null {
    for (const [name, candidate] of this.options.layers?.() ?? []) {
      if (name === alias) return asInspectable(candidate)
    }
    return null
  }

  private publish(update: InspectorUpdate): void {
    for (const listener of this.listeners) {
      try {
        listener(update)
      } catch {
        // One broken listener must not stop the others or the sampler.
      }
    }
  }
}

/** The user AuthMiddleware noted: a name, 'anonymous', or undefined when it noted nothing. */
function noted(notes: ConnectionNotes | null): string | undefined {
  if (notes?.user === undefined) return undefined
  return notes.user ?? 'anonymous'
}

/** `scope.user` when the server's scope has one (middleware usually sets it on a copy). */
function userOf(scope: Scope): string | null {
  const user = (scope as { user?: unknown }).user
  if (user === undefined || user === null) return null
  if (typeof user === 'object' && 'username' in user) {
    const name = user.username
    if (typeof name === 'string' && name !== '') return name
    return 'anonymous'
  }
  return typeof user === 'string' ? user : null
}
