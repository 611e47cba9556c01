/**
 * The dashboard as an ASGI application, mounted on the server at DASHBOARD_PREFIX ahead of the
 * project's application (`Server.mount`), so no route of the project can shadow it:
 *
 * - `GET /_channels/`: the page (page.ts); `?token=` sets the cookie and redirects.
 * - `GET /_channels/api/snapshot`: `Inspector.snapshot()` as JSON.
 * - `WebSocket /_channels/ws`: the live feed and the commands (session.ts).
 *
 * A request refused by the access check (access.ts) gets 403 with a body that says only that;
 * a refused WebSocket handshake gets 403. Refusals are logged with their reason.
 * @module
 */
import { getLogger } from '../../framework/asgi/logging.js'
import type {
  Application,
  HttpScope,
  Receive,
  Send,
  WebSocketScope,
} from '../../framework/asgi/types.js'
import { checkAccess, TOKEN_COOKIE, type DashboardAccess } from './access.js'
import { DASHBOARD_PREFIX, type Inspector } from './inspector.js'
import { DASHBOARD_PAGE } from './page.js'
import { DashboardSession } from './session.js'

const log = getLogger('channels.dashboard')

/** Headers of every dashboard answer: never cached, never framed by another page. */
const COMMON_HEADERS: [string, string][] = [
  ['cache-control', 'no-store'],
  ['x-frame-options', 'DENY'],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
]
const PAGE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
  "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"

/** The dashboard application for `inspector`, guarded by `access`. */
export function createDashboardApp(inspector: Inspector, access: DashboardAccess): Application {
  return async (scope, receive, send) => {
    if (scope.type === 'http') return http(scope, receive, send, inspector, access)
    if (scope.type === 'websocket') return websocket(scope, receive, send, inspector, access)
  }
}

async function http(
  scope: HttpScope,
  receive: Receive,
  send: Send,
  inspector: Inspector,
  access: DashboardAccess,
): Promise<void> {
  // The body is not used; read it to its end so the request completes cleanly.
  for (;;) {
    const event = await receive()
    if (event.type !== 'http.request' || event.more_body !== true) break
  }
  const respond = async (status: number, headers: [string, string][], body: string) => {
    const bytes = Buffer.from(body)
    const all: [string, string][] = [
      ...COMMON_HEADERS,
      ...headers,
      ['content-length', String(bytes.byteLength)],
    ]
    await send({
      type: 'http.response.start',
      status,
      headers: all.map(([name, value]) => [Buffer.from(name), Buffer.from(value, 'latin1')]),
    })
    await send({ type: 'http.response.body', body: bytes })
  }
  const decision = checkAccess(scope, access)
  if (!decision.ok) {
    log.warn(`Dashboard: ${scope.method} ${scope.path} refused: ${decision.reason}`)
    return respond(403, [['content-type', 'text/plain; charset=utf-8']], 'Forbidden\n')
  }
  if (scope.method !== 'GET' && scope.method !== 'HEAD')
    return respond(
      405,
      [
        ['allow', 'GET, HEAD'],
        ['content-type', 'text/plain'],
      ],
      'GET only\n',
    )
  const page = `${DASHBOARD_PREFIX}/`
  if (scope.path === DASHBOARD_PREFIX) return respond(301, [['location', page]], '')
  if (scope.path === page) {
    if (decision.tokenFromQuery !== null) {
      // Into a cookie the page's WebSocket carries too, and out of the address bar and history.
      const secure = scope.scheme === 'https' ? '; Secure' : ''
      const value = encodeURIComponent(decision.tokenFromQuery)
      const cookie = `${TOKEN_COOKIE}=${value}; Path=${DASHBOARD_PREFIX}; HttpOnly; SameSite=Strict${secure}`
      return respond(
        303,
        [
          ['set-cookie', cookie],
          ['location', page],
        ],
        '',
      )
    }
    return respond(
      200,
      [
        ['content-type', 'text/html; charset=utf-8'],
        ['content-security-policy', PAGE_CSP],
      ],
      DASHBOARD_PAGE,
    )
  }
  if (scope.path === `${DASHBOARD_PREFIX}/api/snapshot`) {
    return respond(
      200,
      [['content-type', 'application/json']],
      JSON.stringify(inspector.snapshot()),
    )
  }
  return respond(404, [['content-type', 'text/plain']], 'Not Found\n')
}

async function websocket(
  scope: WebSocketScope,
  receive: Receive,
  send: Send,
  inspector: Inspector,
  access: DashboardAccess,
): Promise<void> {
  const connect = await receive()
  if (connect.type !== 'websocket.connect') return
  const decision = checkAccess(scope, access)
  if (!decision.ok || scope.path !== `${DASHBOARD_PREFIX}/ws`) {
    const reason = decision.ok ? `no WebSocket at ${scope.path}` : decision.reason
    log.warn(`Dashboard: WebSocket ${scope.path} refused: ${reason}`)
    await send({ type: 'websocket.close' })
    return
  }
  await send({ type: 'websocket.accept' })
  const session = new DashboardSession(inspector, (text) => {
    // A send after the client left is ignored by the server; nothing to wait for.
    send({ type: 'websocket.send', text }).catch(() => undefined)
  })
  try {
    for (;;) {
      const event = await receive()
      if (event.type === 'websocket.disconnect') return
      if (event.type !== 'websocket.receive') continue
      if (typeof event.text === 'string') session.command(event.text)
      else session.binary()
    }
  } finally {
    session.close()
  }
}
