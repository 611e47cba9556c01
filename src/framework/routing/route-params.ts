/**
 * Route parameters at the type level: the `url_route.kwargs` a `path()` or `rePath()` pattern
 * captures, read from the pattern's literal type, and the check that a route gives the consumer
 * it leads to the kwargs that consumer declares. Types only: nothing here exists at runtime.
 *
 * Why template-literal types: the route string is the one place the parameter names are written,
 * so a misspelling (`<str:roomname>` for a consumer reading `room_name`) can only be caught by
 * reading that string. TypeScript keeps a string literal's text in its type, so it can; it does
 * not keep a tagged template's (`String.raw\`…\`` is `string`), a RegExp's or a variable's typed
 * `string`, and those routes are not checked: the consumer's declaration is trusted.
 * @module
 */

/**
 * What each `path()` converter puts in `url_route.kwargs`: Django's five built in. A project that
 * registers its own converter (`registerConverter`) can name its value type by merging into this
 * interface:
 * @example
 * declare module 'channels-ts' {
 *   interface PathConverterTypes { year: number }
 * }
 */
export interface PathConverterTypes {
  str: string
  int: number
  slug: string
  uuid: string
  path: string
}

/**
 * The value type of `<converter:name>`. A converter this interface does not name is `unknown`:
 * the route check then trusts the consumer (an unregistered name fails at startup anyway).
 */
type ConverterValue<C extends string> = C extends keyof PathConverterTypes
  ? PathConverterTypes[C]
  : unknown

/** One `<…>` of a `path()` route: `<name>` is `<str:name>`, as in Django. */
type PathParameter<Spec extends string> = Spec extends `${infer Converter}:${infer Name}`
  ? { [K in Name]: ConverterValue<Converter> }
  : { [K in Spec]: string }

/** Flattens an intersection of one-key objects into one object type (for readable hovers). */
type Flatten<T> = { [K in keyof T]: T[K] } & {}

/** The parameters of a `path()` route, left to right; `{}` for a route without any. */
type PathParameters<Route extends string> = Route extends `${string}<${infer Spec}>${infer Rest}`
  ? PathParameter<Spec> & PathParameters<Rest>
  : unknown

/**
 * The `url_route.kwargs` a `path()` route captures:
 * `PathKwargs<'ws/chat/<str:room_name>/<int:page>/'>` is `{ room_name: string; page: number }`.
 * `string` (a route whose text the type does not carry) gives `Record<string, unknown>`.
 */
export type PathKwargs<Route extends string> = string extends Route
  ? Record<string, unknown>
  : Flatten<PathParameters<Route>>

/**
 * The named groups of a regex source, JavaScript's `(?<name>…)` and Python's `(?P<name>…)`.
 * `(?<=…)` and `(?<!…)` are lookbehinds, not groups: scanning goes on after them.
 */
type RegexGroupNames<Source extends string> = Source extends `${string}(?${infer After}`
  ? After extends `P<${infer Name}>${infer Rest}` | `<${infer Name}>${infer Rest}`
    ? Name extends `${'=' | '!'}${string}`
      ? RegexGroupNames<After>
      : Name | RegexGroupNames<Rest>
    : RegexGroupNames<After>
  : never

/**
 * The `url_route.kwargs` an `rePath()` regex captures, every named group as a `string`:
 * `RePathKwargs<'^ws/chat/(?<room_name>\\w+)/$'>` is `{ room_name: string }`. A group that may
 * not take part in a match (`(?<page>\\d+)?`, one side of `|`) is typed as present too, though
 * Django's rule leaves it out of kwargs: declare it optional in the consumer (`page?: string`).
 */
export type RePathKwargs<Source extends string> = string extends Source
  ? Record<string, unknown>
  : { [K in RegexGroupNames<Source>]: string }

/** Keys of `T` that are not index signatures. */
type LiteralKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: 0 }

/** Keys whose value may be left out (`key?: …`). */
type OptionalKeys<T> = {
  [K in keyof T]-?: object extends Pick<T, K> ? K : never
}[keyof T]

/**
 * The kwargs an application declares it reads, or `null` when it declares none. Read the way
 * URLRouter recognises a consumer at runtime (its `consumerClass`): the instance's
 * `scope.url_route.kwargs`. An untyped consumer's is `Record<string, unknown>`: not declared.
 */
type DeclaredKwargs<App> = App extends { readonly consumerClass: new () => { scope: infer S } }
  ? S extends { url_route?: { kwargs: infer K } }
    ? string extends keyof K
      ? null
      : K
    : null
  : null

/**
 * Why a route cannot lead to an application, as an object type the argument lacks: TypeScript's
 * error then quotes the key ("…is missing the property '"route captures a kwarg the consumer
 * does not declare"'") and its value names the kwargs.
 */
type KwargsProblem<Declared, Given> = [Exclude<keyof Given, keyof Declared>] extends [never]
  ? [Exclude<keyof Declared, keyof Given | OptionalKeys<Declared>>] extends [never]
    ? [WrongType<Declared, Given>] extends [never]
      ? unknown
      : { 'route kwarg of another type than the consumer declares': WrongType<Declared, Given> }
    : {
        'consumer kwarg the route does not capture': Exclude<
          keyof Declared,
          keyof Given | OptionalKeys<Declared>
        >
      }
  : { 'route captures a kwarg the consumer does not declare': Exclude<keyof Given, keyof Declared> }

/** Given kwargs whose type does not fit the declared one; `unknown` values are trusted. */
type WrongType<Declared, Given> = {
  [K in keyof Given & keyof Declared]: unknown extends Given[K]
    ? never
    : Given[K] extends Declared[K]
      ? never
      : K
}[keyof Given & keyof Declared]

/**
 * `unknown` when a route capturing `Given` (its parameters plus its default `kwargs`) may lead to
 * `App`, else an object type naming the problem (see KwargsProblem). Checked only when both sides
 * are known: `App` declares its kwargs (a consumer with a `kwargs` type) and the route's text is
 * a literal type. Then every kwarg the route captures must be declared, with a type that fits,
 * and every required declared kwarg must be captured. A route to a nested URLRouter is not
 * checked (its routes are checked where they lead to consumers), so a consumer under a nested
 * router gets the outer route's kwargs unchecked: declare those optional.
 */
export type RouteKwargsCheck<App, Given> = [Given] extends [Record<string, unknown>]
  ? string extends LiteralKeys<Given> | keyof Given
    ? unknown
    : [DeclaredKwargs<App>] extends [infer Declared]
      ? [Declared] extends [null]
        ? unknown
        : KwargsProblem<Declared, Given>
      : unknown
  : unknown

/**
 * What a route puts in `url_route.kwargs`: its captures, with its default kwargs (the route's
 * `{ kwargs }` option) in place of captures of the same name, as URLRouter merges them.
 */
export type RouteKwargs<Captured, Defaults> = {
  [K in keyof Captured as K extends keyof Defaults ? never : K]: Captured[K]
} & Defaults
