import { ImproperlyConfigured } from '../asgi/errors.js'
import { assertApplication, type RoutedApplication } from './application.js'
import type { Pattern } from './pattern.js'
import { RegexPattern } from './regex-pattern.js'
import type { PathKwargs, RePathKwargs, RouteKwargs, RouteKwargsCheck } from './route-params.js'
import { RoutePattern } from './route-pattern.js'
import { describeValue } from '../../util/describe.js'

/** Options of `path()` / `rePath()`: `kwargs` defaults merged into `url_route.kwargs`. */
export interface RouteOptions<Kwargs extends Record<string, unknown> = Record<string, unknown>> {
  kwargs?: Kwargs
  /** Kept for parity with Django (no reverse() here). */
  name?: string
}

/**
 * One entry of a URLRouter (Django's `URLPattern`, renamed so it does not shadow the web
 * platform's `URLPattern`): a pattern, the application it leads to, default kwargs, a name.
 */
export class URLRoute {
  constructor(
    readonly pattern: Pattern,
    readonly callback: RoutedApplication,
    readonly defaultArgs: Readonly<Record<string, unknown>>,
    readonly name: string | undefined,
  ) {}

  toString(): string {
    return `<URLRoute ${String(this.pattern)}>`
  }
}

const OPTION_KEYS = new Set(['kwargs', 'name'])

function checkOptions(fn: string, options: unknown): RouteOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${fn}() options must be an object like { kwargs, name }.`)
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(
        `${fn}() got an unknown option '${key}'; default kwargs go in { kwargs: { ... } }.`,
      )
    }
  }
  const { kwargs, name } = options as RouteOptions
  // typeof null is 'object'; the types rule null out, JavaScript callers do not.
  const badKwargs =
    typeof kwargs !== 'object' || (kwargs as unknown) === null || Array.isArray(kwargs)
  if (kwargs !== undefined && badKwargs) {
    throw new TypeError(`kwargs argument must be an object, but got ${describeValue(kwargs)}.`)
  }
  if (name !== undefined && typeof name !== 'string') {
    throw new TypeError(`${fn}() name must be a string, got ${describeValue(name)}.`)
  }
  return { kwargs, name }
}

function makeRoute(fn: string, pattern: Pattern, app: unknown, options: unknown): URLRoute {
  const { kwargs, name } = checkOptions(fn, options)
  assertApplication(app, `${fn}() app`)
  return new URLRoute(pattern, app, Object.freeze({ ...kwargs }), name)
}

/** Default kwargs of a route that has none. */
// eslint-disable-next-line @typescript-eslint/no-generated-empty-object-type -- on purpose: none
type NoDefaults = Record<never, never>

/**
 * A route with Django's `path()` syntax: `'chat/<str:room>/'`, converters `str` (default),
 * `int`, `slug`, `uuid`, `path` and registered ones. Errors in the route throw here.
 *
 * Typed: a route written as a string literal is checked against the kwargs its consumer declares
 * (`RouteKwargsCheck`): `path('ws/<str:room>/', C.asAsgi())` is an error when C declares
 * `kwargs: { room_name: string }`.
 */
export function path<
  const Route extends string,
  App extends RoutedApplication,
  const Defaults extends Record<string, unknown> = NoDefaults,
>(
  route: Route,
  app: App & NoInfer<RouteKwargsCheck<App, RouteKwargs<PathKwargs<Route>, Defaults>>>,
  options: RouteOptions<Defaults> = {},
): URLRoute {
  return makeRoute('path', new RoutePattern(route), app, options)
}

/**
 * A route from a regular expression (Django's `re_path()`): a RegExp, or a string in JavaScript
 * syntax; Python's `(?P<name>…)` is accepted too. Named groups become `url_route.kwargs`,
 * otherwise groups become `url_route.args`. Anchored at the end only if it ends with `$`.
 *
 * Typed like `path()` when the regex is a string literal (its named groups are `string`s). A
 * RegExp or a tagged template (`String.raw\`…\``, typed `string`) carries no group names in its
 * type: such a route is not checked, and the consumer's declared kwargs are trusted.
 */
export function rePath<
  const Regex extends string | RegExp,
  App extends RoutedApplication,
  const Defaults extends Record<string, unknown> = NoDefaults,
>(
  regex: Regex,
  app: App &
    NoInfer<
      RouteKwargsCheck<
        App,
        RouteKwargs<Regex extends string ? RePathKwargs<Regex> : Record<string, unknown>, Defaults>
      >
    >,
  options: RouteOptions<Defaults> = {},
): URLRoute {
  return makeRoute('rePath', new RegexPattern(regex), app, options)
}

/**
 * Django's `include()` has no URLRouter equivalent: this always throws, so ported code fails
 * at startup with Channels' message. Nest `new URLRouter([...])` instead.
 */
export function include(..._args: unknown[]): never {
  throw new ImproperlyConfigured(
    'include() is not supported in URLRouter. Use nested URLRouter instances instead.',
  )
}
