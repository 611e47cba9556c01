/**
 * Django runserver's messages for the socket errors a developer meets at startup
 * (django/core/management/commands/runserver.py, `inner_run`). Daphne itself exits 0 after a
 * listen failure under runserver; we exit 1.
 * @module
 */

const MESSAGES: Record<string, string> = {
  EACCES: "You don't have permission to access that port.",
  EADDRINUSE: 'That port is already in use.',
  EADDRNOTAVAIL: "That IP address can't be assigned to.",
}

/** `Error: That port is already in use.` (plus the underlying detail) for a failed listen. */
export function describeListenError(error: unknown): string {
  const detail = error instanceof Error ? error.message : String(error)
  const known = knownMessage(error, detail)
  return known ? `Error: ${known}\n${detail}` : `Error: ${detail}`
}

/**
 * serve's wording: Django's line for an error it names, above Daphne's `Listen failure: …`
 * detail (the server already starts its message so; the prefix is added once when missing).
 */
export function describeServeListenError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const detail = message.startsWith('Listen failure') ? message : `Listen failure: ${message}`
  const known = knownMessage(error, message)
  return known ? `Error: ${known}\n${detail}` : detail
}

function knownMessage(error: unknown, detail: string): string | undefined {
  const code = errorCode(error)
  const known = code !== undefined ? MESSAGES[code] : undefined
  if (known) return known
  return /address already in use|EADDRINUSE/i.test(detail) ? MESSAGES.EADDRINUSE : undefined
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error
  // The reactor may wrap the system error; look down the cause chain.
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code
    if (typeof code === 'string') return code
    current = current.cause
  }
  return undefined
}
