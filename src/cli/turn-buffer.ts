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

/** Options for {@link createTurnBuffer}. */
export interface TurnBufferOptions {
  /**
   * Pass the text on in pieces of whole lines of at most this many UTF-8 bytes (a longer line
   * goes alone). Several processes writing to one pipe need it: the kernel keeps a write of up to
   * PIPE_BUF (4096) bytes in one piece, and may interleave a longer one with another process's.
   */
  maxWriteBytes?: number
}

/** Gather writes to `sink` per event-loop turn. */
export function createTurnBuffer(
  sink: (text: string) => void,
  options: TurnBufferOptions = {},
): TurnBuffer {
  const { maxWriteBytes } = options
  let pending: string[] = []
  let scheduled = false
  const flush = (): void => {
    scheduled = false
    if (pending.length === 0) return
    const text = pending.length === 1 ? (pending[0] as string) : pending.join('')
    pending = []
    if (maxWriteBytes === undefined) sink(text)
    else for (const piece of linePieces(text, maxWriteBytes)) sink(piece)
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

/** `text` cut after newlines into pieces of at most `maxBytes` UTF-8 bytes; a longer line alone. */
export function linePieces(text: string, maxBytes: number): string[] {
  if (Buffer.byteLength(text) <= maxBytes) return [text]
  const pieces: string[] = []
  let piece = ''
  let pieceBytes = 0
  for (const line of text.split(/(?<=\n)/)) {
    const bytes = Buffer.byteLength(line)
    if (pieceBytes > 0 && pieceBytes + bytes > maxBytes) {
      pieces.push(piece)
      piece = ''
      pieceBytes = 0
    }
    piece += line
    pieceBytes += bytes
  }
  if (piece !== '') pieces.push(piece)
  return pieces
}
