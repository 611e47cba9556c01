/**
 * Token authentication for WebSockets, where browsers cannot send an Authorization header
 * (https://github.com/django/channels/issues/300). Also a worked example of writing middleware.
 *
 * @example
 * ```ts
 * const application = new ProtocolTypeRouter({
 *   websocket: new TokenAuthMiddleware(new URLRouter(routes), {
 *     authenticate: async (token) => users.byApiToken(token), // a user, or null to reject
 *   }),
 * })
 * // browser: new WebSocket(url + '?token=' + t)  or  new WebSocket(url, ['chat', 'token.' + t])
 * ```
 * @module
 */
import type { AnyApplication, HeaderPair, Receive, Scope, Send } from '../asgi/types.js'
import { getLogger } from '../asgi/logging.js'
import type { AuthUser } from './auth-user.js'
import { BaseMiddleware } from './base.js'

const logger = getLogger('channels.security')

/** Options of {@link TokenAuthMiddleware}. */
export interface TokenAuthOptions<U extends AuthUser = AuthUser> {
  /** The user a token belongs to, or null (or a throw) when it is invalid. */
  authenticate(token: string, scope: Scope): Promise<U | null> | U | null
  /** Query-string parameter carrying the token (default `'token'`). */
  queryParam?: string
  /** Prefix of a Sec-WebSocket-Protocol entry carrying the token (default `'token.'`). */
  subprotocolPrefix?: string
  /** Reject connections without a token (default true); when false they pass through as is. */
  required?: boolean
}

/**
 * Sets `scope.user` from a token in `?token=…` or in a `token.<value>` subprotocol (removed from
 * `scope.subprotocols`, so a consumer never echoes it; offer a real subprotocol next to it and
 * accept that one, since browsers fail a handshake that offered subprotocols and got none back).
 * Missing or invalid tokens are rejected: WebSocket with a close before accept (HTTP 403),
 * HTTP with 401. Put it where AuthMiddleware would go; it needs no session.
 */
export class TokenAuthMiddleware<U extends AuthUser = AuthUser> extends BaseMiddleware {
  declare readonly options: Readonly<Required<TokenAuthOptions<U>>>

  constructor(inner: AnyApplication, options: TokenAuthOptions<U>) {
    super(inner)
    // JavaScript callers may leave the options out.
    const given = options as TokenAuthOptions<U> | undefined
    if (typeof given?.authenticate !== 'function') {
      throw new TypeError('TokenAuthMiddleware needs an authenticate(token) function')
    }
    const resolved = {
      queryParam: 'token',
      subprotocolPrefix: 'token.',
      required: true,
      ...options,
    }
    Object.defineProperty(this, 'options', { value: Object.freeze(resolved) })
  }

  override async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type !== 'websocket' && scope.type !== 'http')
      return this.inner({ ...scope }, receive, send)
    const copy = { ...scope }
    const token = this.extractToken(copy)
    if (token === null) {
      if (!this.options.required) return this.inner(copy, receive, send)
      logger.warn(`Token authentication failed: no token (path ${scope.path})`)
      return reject(scope.type, receive, send)
    }
    let user: U | null = null
    try {
      user = (await this.options.authenticate(token, copy)) ?? null
    } catch (err) {
      logger.warn(`Token authentication failed: authenticate() threw (path ${scope.path})`, err)
    }
    if (user === null) {
      logger.warn(`Token authentication failed: invalid token (path ${scope.path})`)
      return reject(scope.type, receive, send)
    }
    copy.user = user
    return this.inner(copy, receive, send)
  }

  /** The token from the query string, else from the subprotocols (which it then removes). */
  extractToken(
    scope: Scope & { subprotocols?: string[]; query_string?: Uint8Array },
  ): string | null {
    const query = new URLSearchParams(
      Buffer.from(scope.query_string ?? new Uint8Array()).toString('latin1'),
    )
    const fromQuery = query.get(this.options.queryParam)
    if (fromQuery) return fromQuery
    const prefix = this.options.subprotocolPrefix
    const entry = scope.subprotocols?.find((p) => p.startsWith(prefix) && p.length > prefix.length)
    if (entry === undefined) return null
    scope.subprotocols = scope.subprotocols!.filter((p) => p !== entry)
    return entry.slice(prefix.length)
  }
}

async function reject(type: 'websocket' | 'http', receive: Receive, send: Send): Promise<void> {
  if (type === 'websocket') {
    const event = await receive()
    if (event.type === 'websocket.connect') await send({ type: 'websocket.close' })
    return
  }
  const headers: HeaderPair[] = [
    [Buffer.from('content-type'), Buffer.from('text/plain; charset=utf-8')],
  ]
  await send({ type: 'http.response.start', status: 401, headers })
  await send({ type: 'http.response.body', body: Buffer.from('Unauthorized') })
}
