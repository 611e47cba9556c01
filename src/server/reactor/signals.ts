/**
 * Process-signal subscription shared by both reactors (Daphne installs SIGINT/SIGTERM handlers on
 * the Twisted reactor; here the reactor owns them so the server never touches `process`).
 * @module
 */

/** Call `callback` on each of `signals`; the returned function unsubscribes (idempotent). */
export function onSignal(
  signals: readonly NodeJS.Signals[],
  callback: (signal: NodeJS.Signals) => void,
): () => void {
  const listener = (signal: NodeJS.Signals) => callback(signal)
  for (const signal of signals) process.on(signal, listener)
  let active = true
  return () => {
    if (!active) return
    active = false
    for (const signal of signals) process.off(signal, listener)
  }
}
