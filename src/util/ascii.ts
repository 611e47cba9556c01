/**
 * ASCII checks on strings, shared by the reactors and the server.
 * @module
 */

/** True when every UTF-16 unit is below 0x80 (a loop: faster than a RegExp on short strings). */
export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false
  return true
}
