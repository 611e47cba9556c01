/**
 * Django's Host header validation (`HttpRequest.get_host`) for every HTTP request: a Host not in
 * ALLOWED_HOSTS is answered 400 "Bad Request (400)", and the `channels.security.DisallowedHost`
 * logger says why (Django's `django.security.DisallowedHost`). The CLI puts it in front of every
 * application it serves with settings. WebSocket handshakes pass untouched: browsers send them
 * the page's Origin, which AllowedHostsOriginValidator checks.
 * @module
 */
import { sendErrorPage } from '../asgi/error-response.js'
import { decodeLatin1, headerNameIs } from '../asgi/headers.js'
import { getLogger } from '../asgi/logging.js'
import type { AnyApplication, HeaderPair, HttpScope, Receive, Scope, Send } from '../asgi/types.js'
import { getSettings } from '../settings/index.js'
import { BaseMiddleware } from './base.js'
import { isSameDomain } from './origin-match.js'

const logger = getLogger('channels.security.DisallowedHost')

/** Hosts Django allows over HTTP when DEBUG is on and ALLOWED_HOSTS is empty. */
export const DEBUG_HTTP_ALLOWED_HOSTS: readonly string[] = ['.localhost', '127.0.0.1', '[::1]']

const HOST_RE = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]+))?$/
const VERDICT_CACHE_SIZE = 256

/**
 * Django's `split_domain_port`: the lower-cased domain without a trailing dot, and the port;
 * the domain is '' when `host` is not a valid host name (RFC 1034/1035) or IP literal.
 */
export function splitDomainPort(host: string): [domain: string, port: string] {
  const match = HOST_RE.exec(host.toLowerCase())
  if (match === null) return ['', '']
  const domain = match[1] as string
  return [domain.endsWith('.') ? domain.slice(0, -1) : domain, match[2] ?? '']
}

/** Django's `validate_host`: `'*'`, an exact name, or `.example.com` (domain and subdomains). */
export function validateHost(domain: string, allowedHosts: readonly string[]): boolean {
  return allowedHosts.some((pattern) => pattern === '*' || isSameDomain(domain, pattern))
}

/** The host Django would validate: the Host header(s), else the server address (PEP 333). */
export function requestHost(scope: HttpScope): string {
  let host: string | null = null
  // A scope built by hand may lack headers.
  for (const pair of (scope.headers as Iterable<HeaderPair> | undefined) ?? []) {
    if (!headerNameIs(pair[0], 'host')) continue
    // Repeated headers are joined with ',' as Django's ASGIRequest does (and then refused).
    host = host === null ? decodeLatin1(pair[1]) : `${host},${decodeLatin1(pair[1])}`
  }
  if (host !== null) return host
  const server = scope.server
  if (server === null || server === undefined) return 'unknown'
  const [name, port] = server
  const standard = scope.scheme === 'https' ? 443 : 80
  return port === standard ? name : `${name}:${port}`
}

/** Options for {@link AllowedHostsMiddleware}; unset ones come from the settings. */
export interface AllowedHostsOptions {
  /** settings.ALLOWED_HOSTS. */
  allowedHosts?: readonly string[]
  /** settings.DEBUG: with an empty list, `.localhost`, `127.0.0.1` and `[::1]` are allowed. */
  debug?: boolean
}

/**
 * Answers 400 to an HTTP request whose Host is not allowed (Django's rules: `'*'`, exact
 * names, `.example.com` for a domain and its subdomains; the port is ignored; with DEBUG on and
 * no hosts, localhost). Other scopes pass through unchanged. Settings are read at construction.
 */
export class AllowedHostsMiddleware extends BaseMiddleware {
  declare readonly allowedHosts: readonly string[]

  // Verdicts per Host value: a site sees the same few hosts over and over.
  readonly #verdicts = new Map<string, boolean>()

  constructor(application: AnyApplication, options: AllowedHostsOptions = {}) {
    super(application)
    const settings = getSettings()
    const hosts = options.allowedHosts ?? settings.ALLOWED_HOSTS
    if (!Array.isArray(hosts) || !hosts.every((host) => typeof host === 'string')) {
      throw new TypeError(`ALLOWED_HOSTS must be a list of host names, got ${String(hosts)}`)
    }
    const debug = options.debug ?? settings.DEBUG
    const allowed = debug && hosts.length === 0 ? DEBUG_HTTP_ALLOWED_HOSTS : hosts
    Object.defineProperty(this, 'allowedHosts', { value: Object.freeze([...allowed]) })
  }

  // Not async, and the scope is passed on uncopied: this middleware adds nothing to it.
  override asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    try {
      if (scope.type !== 'http') return this.inner(scope, receive, send)
      const host = requestHost(scope)
      if (this.#allowed(host)) return this.inner(scope, receive, send)
      logger.warn(this.#describe(host))
    } catch (error) {
      return Promise.reject(error)
    }
    return sendErrorPage(send, 400, 'Bad Request (400)')
  }

  #allowed(host: string): boolean {
    let verdict = this.#verdicts.get(host)
    if (verdict === undefined) {
      const [domain] = splitDomainPort(host)
      verdict = domain !== '' && validateHost(domain, this.allowedHosts)
      // Bounded: a client inventing hosts only costs us re-parsing.
      if (this.#verdicts.size >= VERDICT_CACHE_SIZE) this.#verdicts.clear()
      this.#verdicts.set(host, verdict)
    }
    return verdict
  }

  /** Django's DisallowedHost message. */
  #describe(host: string): string {
    const [domain] = splitDomainPort(host)
    const hint =
      domain === ''
        ? ' The domain name provided is not valid according to RFC 1034/1035.'
        : ` You may need to add '${domain}' to ALLOWED_HOSTS.`
    return `Invalid HTTP_HOST header: '${host}'.${hint}`
  }
}
