/**
 * Structured access events (Daphne's `action_logger(protocol, action, details)`) and the two ways
 * of printing them: Daphne's NCSA-ish access log line, and runserver's per-request line. The
 * server only emits events; the CLI chooses a formatter and colours.
 * @module
 */

/** One access event, emitted through the `onAction` server option. */
export interface AccessEvent {
  protocol: 'http' | 'websocket'
  action: 'complete' | 'connecting' | 'connected' | 'rejected' | 'disconnected'
  /** HTTP method as sent. */
  method?: string
  /** Percent-decoded path (the scope's `path`). */
  path: string
  /** The undecoded request path, without the query string. */
  rawPath?: string
  /** The raw query string (without `?`), when there is one. */
  query?: string
  status?: number
  /** Response body bytes sent (HTTP). */
  size?: number
  /**
   * `host:port` of the (possibly proxied) client, the host alone when its port is unknown (uWS);
   * null when the client is unknown (unix socket, early 400s).
   */
  client: string | null
  /** Request start to response end (HTTP). */
  durationMs?: number
  time: Date
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

/** `26/Nov/2026:12:31:19`: strftime `%d/%b/%Y:%H:%M:%S` in local time, no zone (Daphne). */
export function formatLogDate(date: Date): string {
  return `${two(date.getDate())}/${MONTHS[date.getMonth()]}/${date.getFullYear()}:${two(date.getHours())}:${two(
    date.getMinutes(),
  )}:${two(date.getSeconds())}`
}

/** The request target as sent: raw path plus `?query` (what both Daphne log formats print). */
export function requestTarget(event: AccessEvent): string {
  const path = event.rawPath ?? event.path
  return event.query ? `${path}?${event.query}` : path
}

const WS_ACCESS_VERBS: Record<string, string> = {
  connecting: 'WSCONNECTING',
  connected: 'WSCONNECT',
  rejected: 'WSREJECT',
  disconnected: 'WSDISCONNECT',
}

/**
 * Daphne's `AccessLogGenerator` line (no trailing newline), e.g.
 * `127.0.0.1:49418 - - [26/Nov/2026:12:31:19] "POST /scope/post" 200 526`.
 */
export function formatAccessLog(event: AccessEvent): string {
  let request: string
  let status = '-'
  let length = '-'
  if (event.protocol === 'http') {
    request = `${event.method ?? '-'} ${requestTarget(event)}`
    if (event.status !== undefined) status = String(event.status)
    if (event.size) length = String(event.size)
  } else {
    // Daphne logs the WebSocket path undecoded and without the query string.
    request = `${WS_ACCESS_VERBS[event.action] ?? event.action.toUpperCase()} ${event.rawPath ?? event.path}`
  }
  return `${event.client ?? 'None'} - - [${formatLogDate(event.time)}] "${request}" ${status} ${length}`
}

/** How the CLI should colour a runserver line (Django's termcolors roles). */
export type RunserverStyle =
  'success' | 'info' | 'notModified' | 'redirect' | 'notFound' | 'badRequest' | 'serverError'

/** A runserver line: the text, the log level Django would use, and a colour role (null = plain). */
export interface RunserverLine {
  message: string
  level: 'info' | 'warn' | 'error'
  style: RunserverStyle | null
}

const WS_RUNSERVER_VERBS: Record<string, string> = {
  connecting: 'HANDSHAKING',
  connected: 'CONNECT',
  rejected: 'REJECT',
  disconnected: 'DISCONNECT',
}

/**
 * Daphne runserver's `log_action` line: `HTTP GET /nf 404 [0.00, 127.0.0.1:49698]` or
 * `WebSocket HANDSHAKING /ws/x [127.0.0.1:49726]`, with Django's level and style per status.
 */
export function formatRunserverLine(event: AccessEvent): RunserverLine {
  const client = event.client ?? 'None'
  if (event.protocol === 'websocket') {
    const verb = WS_RUNSERVER_VERBS[event.action] ?? event.action.toUpperCase()
    return {
      message: `WebSocket ${verb} ${event.rawPath ?? event.path} [${client}]`,
      level: 'info',
      style: null,
    }
  }
  const status = event.status ?? 0
  const seconds = ((event.durationMs ?? 0) / 1000).toFixed(2)
  const message = `HTTP ${event.method ?? '-'} ${requestTarget(event)} ${status} [${seconds}, ${client}]`
  if (status >= 200 && status < 300) return { message, level: 'info', style: 'success' }
  if (status >= 100 && status < 200) return { message, level: 'info', style: 'info' }
  if (status === 304) return { message, level: 'info', style: 'notModified' }
  if (status >= 300 && status < 400) return { message, level: 'info', style: 'redirect' }
  if (status === 404) return { message, level: 'warn', style: 'notFound' }
  if (status >= 400 && status < 500) return { message, level: 'warn', style: 'badRequest' }
  return { message, level: 'error', style: 'serverError' }
}
