/** What a pattern yields on a match: the unmatched rest of the path and the captures. */
export interface PatternMatch {
  rest: string
  args: unknown[]
  kwargs: Record<string, unknown>
}

/**
 * `args` of a match without positional captures: one frozen empty array shared by every match
 * (it lands in `scope.url_route.args`, kept as long as the connection; Channels' args are a tuple).
 */
export const NO_ARGS: unknown[] = Object.freeze([]) as unknown as unknown[]

/**
 * `kwargs` of a match without named captures: one frozen empty object shared by every match (it
 * lands in `scope.url_route.kwargs`, kept as long as the connection).
 */
export const NO_KWARGS: Record<string, unknown> = Object.freeze({})

/** A precompiled match function; `null` means no match. */
export type Matcher = (path: string) => PatternMatch | null

/**
 * A route's pattern (Django's `RoutePattern` / `RegexPattern`). `compile(isEndpoint)` is called
 * once per router: an endpoint must match the whole path, a prefix (a route to a nested router)
 * leaves the rest in `path_remaining`.
 */
export interface Pattern {
  compile(isEndpoint: boolean): Matcher
  toString(): string
}
