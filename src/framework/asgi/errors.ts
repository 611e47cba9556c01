/**
 * Every error class of the framework, in one place, grouped by role.
 *
 * - Control flow (Channels' `exceptions.py`): StopConsumer, AcceptConnection, DenyConnection,
 *   RequestAborted, RequestTimeout, ChannelFull, MessageTooLarge.
 * - Misuse of the protocol at run time: AsgiProtocolError (what TypeScript would have caught).
 * - Configuration, thrown at construction time: ImproperlyConfigured, InvalidChannelLayerError,
 *   EndpointSyntaxError.
 * - Routing: Resolver404 (an inner URLRouter found no match; the outer one tries its next route).
 * @module
 */

/** Base class: lets callers catch any framework error with one `instanceof`. */
export class ChannelsError extends Error {
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

// ---- control flow --------------------------------------------------------------------------

/** Raised inside a consumer to end it cleanly (no error is reported). */
export class StopConsumer extends ChannelsError {}

/** Raised inside `connect()` to accept the WebSocket. */
export class AcceptConnection extends ChannelsError {}

/** Raised inside `connect()` to reject the WebSocket (403 before the handshake completes). */
export class DenyConnection extends ChannelsError {}

/**
 * The application instance was cancelled (its client left and `application_close_timeout`
 * passed, or a communicator timed out): its pending and later `receive()` calls reject with this.
 * JavaScript cannot cancel a promise, so this is how an instance is told to stop.
 */
export class CancelledError extends ChannelsError {}

/** The client went away while the request was being handled. */
export class RequestAborted extends ChannelsError {}

/** The request body did not arrive in time. */
export class RequestTimeout extends RequestAborted {}

/** A channel layer refused a message because the channel is at capacity. */
export class ChannelFull extends ChannelsError {
  constructor(public readonly channel?: string) {
    super(channel === undefined ? 'Channel is full' : `Channel ${channel} is full`)
  }
}

/** A message is larger than the channel layer accepts. */
export class MessageTooLarge extends ChannelsError {}

// ---- misuse --------------------------------------------------------------------------------

/**
 * An application sent an event the connection cannot take in its current state, or an event of
 * the wrong shape. Worded like starlette/uvicorn: "Expected ASGI message X, but got Y."
 */
export class AsgiProtocolError extends ChannelsError {}

// ---- configuration -------------------------------------------------------------------------

/** Settings or wiring are wrong (Django's `ImproperlyConfigured`). */
export class ImproperlyConfigured extends ChannelsError {}

/** A channel layer is missing, misconfigured, or lacks a needed extension. */
export class InvalidChannelLayerError extends ChannelsError {}

/** An endpoint description string could not be parsed. */
export class EndpointSyntaxError extends ChannelsError {}

// ---- routing -------------------------------------------------------------------------------

/** An inner URLRouter found no route; the enclosing router catches it and keeps trying. */
export class Resolver404 extends ChannelsError {}

/**
 * A value is wrong (Python's `ValueError`, which Channels raises for most misuse: an unmapped
 * scope type, an unknown route, a message with no handler).
 */
export class ValueError extends ChannelsError {}

/**
 * The outermost URLRouter found no route. A ValueError, as in Channels (so code catching
 * ValueError still does), but its own class so a server can answer 404 (HTTP) or 403
 * (WebSocket) instead of a 500 for what is the client's mistake.
 */
export class RouteNotFound extends ValueError {}
