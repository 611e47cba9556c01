/**
 * A writer that gathers what is written during one event-loop turn and passes it on as one
 * write when the turn ends. The access log writes a line per connection event; on a busy server
 * those lines arrive by the thousand per turn, and one write per line is one syscall per line
 * when stdout is a file or a pipe.
 * @module
 */

/** `write` gathers; `flush` passes on what was gathered now (also called at the turn's end). */
export interface TurnBuffer {
  write(text: string): void
  flush(): void
}

/** Gather writes to `sink` per event-loop turn. */
export function createTurnBuffer(sink: (text: string) => void): TurnBuffer {
  let pending: string[] = []
  let scheduled = false
  const flush = (): void => {
    scheduled = false
    if (pending.length === 0) return
    const text = pending.length === 1 ? (pending[0] as string) : pending.join('')
    pending = []
    sink(text)
  }
  return {
    write(text: string): void {
      pending.push(text)
      if (scheduled) return
      scheduled = true
      // unref'd: a buffered line never keeps the process alive; the server's stop flushes.
      setImmediate(flush).unref()
    },
    flush,
  }
}
