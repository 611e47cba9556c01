/**
 * Typed consumers, at the type level only: what a consumer declares (`ConsumerTypes`: its route
 * kwargs, the channel-layer messages it handles, what middleware adds to its scope), the scope
 * and channel layer it then sees, and the check that its handlers match its messages. Nothing
 * here exists at runtime; dispatch is unchanged (`'chat.message'` → `chat_message`, and a
 * message without a handler still kills the consumer with ValueError).
 *
 * Why a map from `type` to payload: a message's `type` is the only link between the code that
 * sends it (`groupSend` anywhere in the project, or a Django process) and the handler that gets
 * it, and it is a string. Naming each type once, with its payload, lets the compiler follow that
 * link both ways: a send must carry the fields of its type, and a handler named for a type must
 * take that type's message.
 * @module
 */
import type { AsgiReceiveEvent, UrlRoute } from '../asgi/types.js'
import type { ChannelLayer } from '../layers/types.js'

/**
 * What a consumer declares, as its class's type argument; every key is optional:
 * @example
 * class ChatConsumer extends AsyncWebsocketConsumer<{
 *   kwargs: { room_name: string }          // this.scope.url_route.kwargs
 *   events: { 'chat.message': ChatLine }   // handled by chat_message(event)
 *   scope: AuthScope                       // this.scope.user, from AuthMiddlewareStack
 * }> { … }
 */
export interface ConsumerTypes {
  /**
   * `scope.url_route.kwargs` as the consumer's route captures them. Declared, `url_route` is
   * always present (the consumer is only reached through a route) and `path()`/`rePath()` check
   * the route's parameters against it.
   */
  kwargs?: object
  /**
   * Message `type` → payload (the fields besides `type`) of the channel-layer messages the
   * consumer handles. Each type needs its handler; `this.channelLayer.send`/`groupSend` take only
   * these messages. An index signature (`[type: string]: object`) admits other types as well
   * (messages for other consumers in a group, or from a Django process).
   */
  events?: object
  /** What middleware adds to the scope, e.g. `AuthScope` (`user`, `session`, `cookies`). */
  scope?: object
}

/**
 * Carries a consumer's `ConsumerTypes` in its instance type (`declare`d, so never set): the
 * checks below read the declaration back from the class. A symbol keeps it out of completions.
 */
export declare const consumerTypes: unique symbol

/** Channels' handler rule at the type level: `'chat.message'` → `'chat_message'`. */
export type HandlerName<Type extends string> = Type extends `${infer Head}.${infer Tail}`
  ? `${Head}_${HandlerName<Tail>}`
  : Type

/** The message types an event map names, without its index signature. */
export type DeclaredTypes<Events> = keyof {
  [K in keyof Events as string extends K ? never : K extends string ? K : never]: 0
}

/** Whether an event map admits types it does not name (it has a string index signature). */
type IsOpen<Events> = string extends keyof Events ? true : false

/**
 * The message of type `Type` as it travels and as its handler gets it: `{ type, ...payload }`.
 * For a type the map does not name: the map's index signature, or never.
 */
export type EventMessage<Events, Type extends string> = { type: Type } & (Type extends keyof Events
  ? Fields<Events[Type]>
  : never)

/**
 * A payload's fields as an anonymous object type. A payload declared as an interface has no
 * index signature, so it is not a `ChannelMessage` (`Record<string, unknown>`); its mapped copy,
 * an anonymous type, is. That is what keeps an `EventLayer` assignable to a `ChannelLayer`.
 */
type Fields<Payload> = { [K in keyof Payload]: Payload[K] }

/** Every message an event map names, as a union (for error messages and handler checks). */
type AnyDeclaredMessage<Events> = {
  [Type in DeclaredTypes<Events> & string]: EventMessage<Events, Type>
}[DeclaredTypes<Events> & string]

/**
 * What `send`/`groupSend` take for a message of type `Type`: a named type's payload; for another
 * type, when the map is open, what its index signature says plus any other field (a type the map
 * does not name is someone else's business); else one of the named messages (so the error lists
 * them).
 */
export type OutgoingMessage<Events, Type extends string> =
  Type extends DeclaredTypes<Events>
    ? EventMessage<Events, Type>
    : IsOpen<Events> extends true
      ? { type: Type } & Events[string & keyof Events] & Record<string, unknown>
      : AnyDeclaredMessage<Events>

/**
 * A channel layer as a consumer with event map `Events` sees it: `send` and `groupSend` take that
 * consumer's messages (you send to your peers: the members of your groups are consumers like
 * you). The same object as the `ChannelLayer`, and assignable to one, so it can be passed to
 * code that takes any layer. Method syntax on purpose: a method's parameter is compared both
 * ways, which is what makes this view assignable to `ChannelLayer`.
 */
export interface EventLayer<Events> extends Omit<ChannelLayer, 'send' | 'groupSend'> {
  /** Queue a message on a channel (of a consumer like this one). See `ChannelLayer.send`. */
  send<const Type extends string>(
    channel: string,
    message: OutgoingMessage<Events, Type>,
  ): Promise<void>
  /** Send to every member of a group (consumers like this one). See `ChannelLayer.groupSend`. */
  groupSend<const Type extends string>(
    group: string,
    message: OutgoingMessage<Events, Type>,
  ): Promise<void>
}

/** The events a `ConsumerTypes` declares, or never. */
type EventsOf<Types> = Types extends { events: infer Events } ? Events : never

/** `this.channelLayer`'s type: the layer typed by the declared events, else the plain one. */
export type ConsumerLayer<Types> = [EventsOf<Types>] extends [never]
  ? ChannelLayer
  : EventLayer<EventsOf<Types>>

/**
 * A scope with `url_route.kwargs` typed exactly as declared (a misspelled kwarg is an error) and
 * `url_route` always present. The other keys are kept as they are, index signature included.
 */
type WithKwargs<S, Kwargs> = {
  [K in keyof S as K extends 'url_route' ? never : K]: S[K]
} & { url_route: { args: UrlRoute['args']; kwargs: Fields<Kwargs> } }

/** A scope with what middleware adds (`ConsumerTypes.scope`). */
type WithExtra<S, Types> = Types extends { scope: infer Extra } ? S & Extra : S

/**
 * A consumer's scope: the protocol's, with what middleware adds and the declared kwargs (applied
 * last: a middleware type such as `AuthScope` brings the untyped `url_route` back otherwise).
 */
export type ConsumerScope<S, Types> = Types extends { kwargs: infer Kwargs extends object }
  ? WithKwargs<WithExtra<S, Types>, Kwargs>
  : WithExtra<S, Types>

// ---------------------------------------------------------------------------------------------
// Handler checks, made where a consumer class becomes an application (`asAsgi`).

/** The handlers of the ASGI protocols, which the consumer classes define (websocket_connect…). */
type ProtocolHandlerName = HandlerName<AsgiReceiveEvent['type']>

/**
 * Public methods named like handlers (`a_b`) that are no protocol handler. Any public method is
 * reachable by a message whose type names it; one with an underscore reads as a handler.
 */
type HandlerLikeNames<C> = {
  [K in keyof C]-?: K extends `${string}_${string}`
    ? K extends `_${string}` | ProtocolHandlerName
      ? never
      : C[K] extends (...args: never[]) => unknown
        ? K
        : never
    : never
}[keyof C]

/** Handler-like methods whose name no declared type gives. */
type UndeclaredHandlers<C, Events> =
  IsOpen<Events> extends true
    ? never
    : Exclude<HandlerLikeNames<C>, HandlerName<DeclaredTypes<Events> & string>>

/** Declared types whose handler is missing or is not a method. */
type MissingHandlers<C, Events> = {
  [Type in DeclaredTypes<Events> & string]-?: HandlerName<Type> extends keyof C
    ? C[HandlerName<Type>] extends (...args: never[]) => unknown
      ? never
      : Type
    : Type
}[DeclaredTypes<Events> & string]

/** Declared types whose handler does not accept that type's message. */
type MistypedHandlers<C, Events> = {
  [Type in DeclaredTypes<Events> & string]-?: HandlerName<Type> extends keyof C
    ? C[HandlerName<Type>] extends (...args: infer Params) => unknown
      ? Params extends []
        ? never
        : EventMessage<Events, Type> extends Params[0]
          ? never
          : Type
      : never
    : never
}[DeclaredTypes<Events> & string]

/**
 * `unknown` when consumer `C`'s handlers match its declared events, else an object type naming
 * the first problem found (TypeScript's error quotes its key): a handler-like method no declared
 * type names (a misspelled handler, or a type missing from the map), a declared type without its
 * handler, or a handler whose parameter needs what its type's message does not carry.
 */
export type HandlersCheck<C> = C extends { readonly [consumerTypes]?: infer Types }
  ? [EventsOf<Types>] extends [never]
    ? unknown
    : HandlersProblem<C, EventsOf<Types>>
  : unknown

type HandlersProblem<C, Events> = [UndeclaredHandlers<C, Events>] extends [never]
  ? [MissingHandlers<C, Events>] extends [never]
    ? [MistypedHandlers<C, Events>] extends [never]
      ? unknown
      : {
          'handler parameter does not accept its message type': MistypedHandlers<C, Events>
        }
    : { 'declared message type without a handler': MissingHandlers<C, Events> }
  : { 'handler named for no declared message type': UndeclaredHandlers<C, Events> }
