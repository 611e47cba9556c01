/**
 * What a server-sent close frame may carry, shared by both reactors so they send the same bytes:
 * uWS 20.30 sends any code verbatim (999 included) and cuts a long reason mid-character (the
 * client then fails on invalid UTF-8); `ws` throws on both.
 * @module
 */

/** The most reason bytes a close frame holds (125-byte control payload minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123

/** True for codes a close frame may carry (RFC 6455 §7.4; 1005, 1006 and 1015 never are). */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false
  if (code >= 3000 && code <= 4999) return true
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006
}

/** `reason` cut to at most 123 UTF-8 bytes, at a character boundary. */
export function truncateCloseReason(reason: string): string {
  if (reason.length <= MAX_CLOSE_REASON_BYTES / 3) return reason // fits whatever the characters
  const bytes = Buffer.from(reason, 'utf8')
  if (bytes.byteLength <= MAX_CLOSE_REASON_BYTES) return reason
  let end = MAX_CLOSE_REASON_BYTES
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end-- // back off continuation bytes
  return bytes.subarray(0, end).toString('utf8')
}
