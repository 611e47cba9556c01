/**
 * How the `channels` process ends. A command has finished everything it started (a server has
 * stopped gracefully, its layers are closed) when `main` resolves, but user code may have left a
 * timer, an interval or a socket behind that would keep Node running forever after the signal.
 * So the process exits explicitly, once what it printed has been written.
 * @module
 */

/** The longest the exit waits for stdout/stderr to drain (a reader that never reads). */
const FLUSH_LIMIT_MS = 2_000

/** Exit with `code` after stdout and stderr have flushed. */
export async function exitAfterFlush(code: number): Promise<never> {
  process.exitCode = code
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_LIMIT_MS)))
  await Promise.race([Promise.all([flushed(process.stdout), flushed(process.stderr)]), limit])
  clearTimeout(timer)
  process.exit(code)
}

/** Resolves once everything written to `stream` so far has been handed to the system. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve()
    // The callback also runs on a write error (EPIPE): nothing more will be written then either.
    stream.write('', () => resolve())
  })
}
