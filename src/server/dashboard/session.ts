/**
 * One dashboard page's WebSocket: what it is sent and the commands it may send. The page gets
 * everything once (`hello`), then a snapshot every SNAPSHOT_MS, each sample as it is taken and
 * new events in batches every EVENTS_MS: a few updates a second whatever the server does. The
 * timers exist only while a page is connected.
 *
 * Server → page (JSON text): `hello` {snapshot, history, events}, `snapshot`, `sample`,
 * `events` {events}, `members` {alias, group, members}, `closed` {id}, `error` {message}.
 * Page → server: `{"cmd":"close","id":N}`, `{"cmd":"members","alias":A,"group":G}`. Anything
 * else is answered with `error` and changes nothing.
 * @module
 */
import type { Inspector } from './inspector.js'
import type { DashboardEvent, InspectorUpdate } from './types.js'

const SNAPSHOT_MS = 500
const EVENTS_MS = 250
/** The longest command read; a command is a few dozen bytes. */
export const MAX_COMMAND_LENGTH = 4096

/** Sends one JSON text frame to the page. */
export type SendText = (text: string) => void

/** The server side of one page. */
export class DashboardSession {
  private readonly unsubscribe: () => void
  private readonly snapshots: NodeJS.Timeout
  private pendingEvents: DashboardEvent[] = []
  private eventsTimer: NodeJS.Timeout | null = null
  private closed = false

  constructor(
    private readonly inspector: Inspector,
    private readonly send: SendText,
  ) {
    this.write({
      type: 'hello',
      snapshot: inspector.snapshot(),
      history: inspector.history(),
      events: inspector.events(),
    })
    this.unsubscribe = inspector.subscribe((update) => this.onUpdate(update))
    this.snapshots = setInterval(() => {
      this.write({ type: 'snapshot', snapshot: this.inspector.snapshot() })
    }, SNAPSHOT_MS)
  }

  /** A text frame from the page. */
  command(text: string): void {
    if (text.length > MAX_COMMAND_LENGTH) return this.error('Command too long')
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return this.error('Commands are JSON objects')
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return this.error('Commands are JSON objects')
    const command = parsed as Record<string, unknown>
    switch (command.cmd) {
      case 'close': {
        const id = command.id
        if (typeof id !== 'number' || !Number.isInteger(id))
          return this.error("'close' needs a connection id")
        if (!this.inspector.closeConnection(id))
          return this.error(`No open connection ${id} to close`)
        return this.write({ type: 'closed', id })
      }
      case 'members': {
        const { alias, group } = command
        if (typeof alias !== 'string' || typeof group !== 'string')
          return this.error("'members' needs an alias and a group")
        const members = this.inspector.groupMembers(alias, group)
        if (members === null) return this.error(`No group '${group}' on layer '${alias}'`)
        return this.write({ type: 'members', alias, group, members })
      }
      default:
        return this.error('Unknown command; expected close or members')
    }
  }

  /** A binary frame: not a command. */
  binary(): void {
    this.error('Commands are JSON text')
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.unsubscribe()
    clearInterval(this.snapshots)
    if (this.eventsTimer !== null) clearTimeout(this.eventsTimer)
  }

  private onUpdate(update: InspectorUpdate): void {
    if (update.kind === 'sample') return this.write({ type: 'sample', sample: update.sample })
    this.pendingEvents.push(update.event)
    this.eventsTimer ??= setTimeout(() => {
      this.eventsTimer = null
      const events = this.pendingEvents
      this.pendingEvents = []
      this.write({ type: 'events', events })
    }, EVENTS_MS)
  }

  private error(message: string): void {
    this.write({ type: 'error', message })
  }

  private write(message: object): void {
    if (!this.closed) this.send(JSON.stringify(message))
  }
}
