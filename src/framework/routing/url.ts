import type { Receive, Scope, Send, UrlRoute } from '../asgi/types.js'
import { Resolver404, RouteNotFound, ValueError } from '../asgi/errors.js'
import type { RoutedApplication } from './application.js'
import { ScopeCopier } from '../asgi/scope-copy.js'
import { AsgiCallable } from './callable.js'
import { NO_ARGS, NO_KWARGS, type Matcher } from './pattern.js'
import { URLRoute } from './route.js'
import { describeValue } from '../../util/describe.js'

export { include, path, rePath, URLRoute, type RouteOptions } from './route.js'

interface CompiledRoute {
  match: Matcher
  app: RoutedApplication
  /** Default kwargs, or null when the route has none. */
  defaults: Readonly<Record<string, unknown>> | null
  /** The app may route (and miss) further down: a late Resolver404 moves on to the next route. */
  mayMiss: boolean
}

/**
 * A consumer application (`Consumer.asAsgi()`) does not route, so it cannot miss: a route to one
 * needs no Resolver404 handler, which would otherwise live as long as the connection.
 */
function isConsumerApplication(app: unknown): boolean {
  return typeof (app as { consumerClass?: unknown }).consumerClass === 'function'
}

/** The scope a route's app gets: the router's, plus these two keys. */
const CHILD_SCOPE = new ScopeCopier(['path_remaining', 'url_route'])

/** `url_route` of a match that captured nothing and has no default kwargs. */
const NO_URL_ROUTE: UrlRoute = Object.freeze({ args: NO_ARGS, kwargs: NO_KWARGS })

function stripLeadingSlashes(path: string): string {
  let i = 0
  while (path.charCodeAt(i) === 0x2f) i += 1
  return i === 0 ? path : path.slice(i)
}

/** The scope a child was copied from: the child's keys with the two the router set restored. */
function parentScope(
  child: Record<string, unknown>,
  remaining: unknown,
  outer: unknown,
): Record<string, unknown> {
  const parent: Record<string, unknown> = {}
  for (const key of Object.keys(child)) {
    if (key === 'path_remaining') {
      if (remaining !== undefined) parent[key] = remaining
    } else if (key === 'url_route') {
      if (outer !== undefined) parent[key] = outer
    } else parent[key] = child[key]
  }
  return parent
}

/**
 * Routes on the URL path with Django `path()` / `rePath()` routes (Channels' `URLRouter`).
 * First match wins; the child gets a scope copy with `url_route` and `path_remaining`.
 * Routes whose app has `_path_routing = true` (a nested URLRouter) match as prefixes.
 */
export class URLRouter extends AsgiCallable {
  /** Marks this app as routing on `path_remaining`, so an outer router matches it as a prefix. */
  readonly _path_routing = true
  /** The routes, in matching order. */
  readonly routes: readonly URLRoute[]
  readonly #compiled: CompiledRoute[]

  constructor(routes: readonly URLRoute[]) {
    super()
    // Checked as unknown: JavaScript callers may pass anything.
    const given: unknown = routes
    if (!Array.isArray(given)) {
      throw new TypeError('URLRouter expects an array of routes built with path() or rePath().')
    }
    this.#compiled = routes.map((route: unknown, index) => {
      if (!(route instanceof URLRoute)) {
        throw new TypeError(
          `URLRouter route #${index} must be built with path() or rePath(), ` +
            `got ${describeValue(route)}.`,
        )
      }
      // Read once, here, like Channels: middleware wrapping a router must set the flag itself
      // (https://github.com/django/channels/issues/1428).
      const isEndpoint = route.callback._path_routing !== true
      const match = route.pattern.compile(isEndpoint)
      const app = route.callback
      const defaults = Object.keys(route.defaultArgs).length > 0 ? route.defaultArgs : null
      return { match, app, defaults, mayMiss: !isConsumerApplication(app) }
    })
    this.routes = Object.freeze([...routes])
  }

  /**
   * Routes one connection; a miss rejects with Resolver404 when nested, RouteNotFound (a
   * ValueError) when outermost. Not an async function: the route's own promise is returned, so
   * no frame of ours stays alive for the connection's lifetime (hot path).
   */
  override asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    try {
      const fields = scope as Record<string, unknown>
      const outermost = fields.path_remaining === undefined
      return this.#routeFrom(scope, receive, send, this.#path(fields, outermost), outermost, 0)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** The path this router matches against: root_path stripped (outermost only), no leading '/'. */
  #path(fields: Record<string, unknown>, outermost: boolean): string {
    const given = outermost ? fields.path : fields.path_remaining
    if (given === undefined || given === null) {
      throw new ValueError("No 'path' key in connection scope, cannot route URLs")
    }
    if (typeof given !== 'string') {
      throw new TypeError(`URLRouter: scope 'path' must be a string, got ${describeValue(given)}.`)
    }
    let path: string = given
    if (outermost) {
      const rootPath = fields.root_path ?? ''
      if (typeof rootPath !== 'string') {
        const got = describeValue(rootPath)
        throw new TypeError(`URLRouter: scope 'root_path' must be a string, got ${got}.`)
      }
      if (rootPath !== '') {
        if (!path.startsWith(rootPath))
          throw new RouteNotFound(`No route found for path '${path}'.`)
        path = path.slice(rootPath.length)
      }
    }
    return stripLeadingSlashes(path)
  }

  /** Try the routes from `from` on; throws (synchronously) when none matches. */
  #routeFrom(
    scope: Scope,
    receive: Receive,
    send: Send,
    path: string,
    outermost: boolean,
    from: number,
  ): Promise<void> {
    const compiled = this.#compiled
    const fields = scope as Record<string, unknown>
    const outer = fields.url_route as UrlRoute | undefined
    for (let index = from; index < compiled.length; index++) {
      const route = compiled[index]!
      const match = route.match(path)
      if (match === null) continue
      const defaults = route.defaults
      const kwargs =
        outer === undefined && defaults === null
          ? match.kwargs
          : Object.assign({}, outer?.kwargs, match.kwargs, defaults)
      const args =
        outer === undefined || outer.args.length === 0
          ? match.args
          : match.args.length === 0
            ? outer.args
            : [...outer.args, ...match.args]
      // A route that captured nothing shares one frozen url_route (kept per connection).
      const urlRoute = args === NO_ARGS && kwargs === NO_KWARGS ? NO_URL_ROUTE : { args, kwargs }
      const child = CHILD_SCOPE.copy(scope, match.rest, urlRoute)
      let result: Promise<void>
      try {
        result = Promise.resolve(route.app(child as Scope, receive, send))
      } catch (err) {
        if (!(err instanceof Resolver404)) throw err
        continue
      }
      if (!route.mayMiss) return result
      // A nested router that misses rejects with Resolver404; then our later routes get their
      // turn (test_path_remaining). The handler lives as long as the connection, so it keeps the
      // child (which the app keeps anyway), not this scope as well.
      const remaining = fields.path_remaining
      return result.catch((err: unknown) => {
        if (!(err instanceof Resolver404)) throw err
        const parent = parentScope(child, remaining, outer)
        const rest = this.#path(parent, outermost)
        return this.#routeFrom(parent as Scope, receive, send, rest, outermost, index + 1)
      })
    }
    if (!outermost) throw new Resolver404(`No route found for path '${path}'.`)
    throw new RouteNotFound(`No route found for path '${path}'.`)
  }
}
