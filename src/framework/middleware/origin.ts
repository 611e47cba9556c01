/**
 * Channels' `OriginValidator` and `AllowedHostsOriginValidator`: refuse WebSocket handshakes
 * whose Origin header is not allowed (cross-site WebSocket hijacking protection).
 * @module
 */
import { ValueError } from '../asgi/errors.js'
import { decodeLatin1, headerNameIs } from '../asgi/headers.js'
import { getLogger } from '../asgi/logging.js'
import type { AnyApplication, HeaderPair, Receive, Scope, Send } from '../asgi/types.js'
import { getSettings } from '../settings/index.js'
import { BaseMiddleware } from './base.js'
import { originAllowed, parseOrigin } from './origin-match.js'

const logger = getLogger('channels.security')

const VERDICT_CACHE_SIZE = 256

/** Hosts AllowedHostsOriginValidator allows when DEBUG is on and ALLOWED_HOSTS is empty. */
export const DEBUG_ALLOWED_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]']

/**
 * Lets a WebSocket through only if its Origin matches `allowedOrigins` (rules in
 * `originAllowed`). A rejected handshake gets `websocket.close` before accept, which servers
 * answer with HTTP 403, and a warning on the `channels.security` logger says why (Channels
 * logs nothing: https://github.com/django/channels/issues/2062). Non-WebSocket scopes are a
 * ValueError.
 */
export class OriginValidator extends BaseMiddleware {
  declare readonly allowedOrigins: readonly string[]
  /** Named in the rejection log line: `'allowed origins'` or `'ALLOWED_HOSTS'`. */
  declare readonly source: string

  constructor(
    application: AnyApplication,
    allowedOrigins: readonly string[],
    source = 'allowed origins',
  ) {
    super(application)
    // Checked as unknown: JavaScript callers may pass anything.
    const given: unknown = allowedOrigins
    if (!Array.isArray(given)) {
      throw new TypeError('OriginValidator needs an array of allowed origins')
    }
    Object.defineProperty(this, 'allowedOrigins', { value: Object.freeze([...allowedOrigins]) })
    Object.defineProperty(this, 'source', { value: source })
  }

  // Not async: the inner app's promise is returned as is (no frame kept per connection). The
  // scope is passed on uncopied, as Channels does: this middleware adds nothing to it.
  override asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    let origin: string | null = null
    let allowed: boolean
    try {
      if (scope.type !== 'websocket') {
        throw new ValueError('You cannot use OriginValidator on a non-WebSocket connection')
      }
      // Like Channels, the last Origin header wins.
      const given = (scope.headers as Iterable<HeaderPair> | undefined) ?? []
      const headers = Array.isArray(given) ? (given as HeaderPair[]) : [...given]
      for (let i = 0; i < headers.length; i++) {
        const pair = headers[i] as HeaderPair
        if (headerNameIs(pair[0], 'origin')) origin = decodeLatin1(pair[1])
      }
      allowed = this.#allowed(origin)
      if (allowed) return this.inner(scope, receive, send)
    } catch (error) {
      return Promise.reject(error)
    }
    logger.warn(
      this.describeRejection(origin, origin !== null && parseOrigin(origin) === null, scope.path),
    )
    return deny(receive, send)
  }

  // Verdicts per Origin value: browsers send the same few origins over and over.
  readonly #verdicts = new Map<string | null, boolean>()

  // The last Origin and its verdict, compared before hashing the (new) origin string.
  #lastOrigin: string | null | undefined = undefined
  #lastVerdict = false

  #allowed(origin: string | null): boolean {
    if (origin === this.#lastOrigin) return this.#lastVerdict
    let verdict = this.#verdicts.get(origin)
    if (verdict === undefined) {
      verdict = originAllowed(origin === null ? null : parseOrigin(origin), this.allowedOrigins)
      // Bounded: a client inventing origins only costs us re-parsing.
      if (this.#verdicts.size >= VERDICT_CACHE_SIZE) this.#verdicts.clear()
      this.#verdicts.set(origin, verdict)
    }
    this.#lastOrigin = origin
    this.#lastVerdict = verdict
    return verdict
  }

  /** The log line for a rejected handshake. */
  describeRejection(origin: string | null, unparsable: boolean, path: string): string {
    const allowed = `[${this.allowedOrigins.map((o) => `'${o}'`).join(', ')}]`
    const why =
      origin === null
        ? `no Origin header and ${this.source} ${allowed} does not contain '*'`
        : unparsable
          ? `${JSON.stringify(origin)} is not a valid origin (${this.source} ${allowed})`
          : `'${origin}' is not in ${this.source} ${allowed}`
    return `WebSocket origin rejected: ${why} (path ${path})`
  }
}

// Channels' WebsocketDenier: answer the connect with a close (the server sends 403).
async function deny(receive: Receive, send: Send): Promise<void> {
  const event = await receive()
  if (event.type === 'websocket.connect') await send({ type: 'websocket.close' })
}

/**
 * An OriginValidator allowing settings.ALLOWED_HOSTS, read now (at construction, as Channels
 * does). With DEBUG on and ALLOWED_HOSTS empty: localhost, 127.0.0.1 and [::1]. Host entries
 * have no scheme, so any port matches.
 */
export function AllowedHostsOriginValidator(application: AnyApplication): OriginValidator {
  const settings = getSettings()
  let allowed = settings.ALLOWED_HOSTS
  if (settings.DEBUG && allowed.length === 0) allowed = DEBUG_ALLOWED_HOSTS
  return new OriginValidator(application, allowed, 'ALLOWED_HOSTS')
}
