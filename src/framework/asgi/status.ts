/**
 * Named protocol constants: WebSocket close codes (RFC 6455 §7.4.1) and the defaults the
 * server and consumers share.
 * @module
 */

/** Normal closure: the default code of `close()`. */
export const WS_1000_NORMAL_CLOSURE = 1000
/** Going away: sent to every open socket on graceful shutdown. */
export const WS_1001_GOING_AWAY = 1001
export const WS_1002_PROTOCOL_ERROR = 1002
export const WS_1003_UNSUPPORTED_DATA = 1003
/** No status code was present in the peer's close frame. */
export const WS_1005_NO_STATUS_RCVD = 1005
/** The connection dropped without a close frame (never sent on the wire). */
export const WS_1006_ABNORMAL_CLOSURE = 1006
/** Invalid UTF-8 in a text frame. */
export const WS_1007_INVALID_FRAME_PAYLOAD_DATA = 1007
export const WS_1008_POLICY_VIOLATION = 1008
/** A message over the size limit. */
export const WS_1009_MESSAGE_TOO_BIG = 1009
export const WS_1010_MANDATORY_EXT = 1010
/** The application raised: sent after accept (before accept it is an HTTP 500). */
export const WS_1011_INTERNAL_ERROR = 1011
export const WS_1012_SERVICE_RESTART = 1012
export const WS_1013_TRY_AGAIN_LATER = 1013

/** The ASGI spec version this implementation speaks. */
export const ASGI_VERSION = '3.0' as const
