/**
 * The framework's logging seam. Modules log through named loggers (`getLogger('channels.security')`);
 * one process-wide handler decides where records go. The default prints warnings and errors to
 * stderr (Django's default); the `channels` CLI installs a coloured handler, and tests install a
 * recording one.
 * @module
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** One log event. `error` carries the exception, when there is one, for a stack trace. */
export interface LogRecord {
  level: LogLevel
  logger: string
  message: string
  error?: unknown
}

export type LogHandler = (record: LogRecord) => void

/** A named logger. */
export interface Logger {
  debug(message: string, error?: unknown): void
  info(message: string, error?: unknown): void
  warn(message: string, error?: unknown): void
  error(message: string, error?: unknown): void
}

function defaultHandler(record: LogRecord): void {
  if (record.level !== 'warn' && record.level !== 'error') return
  const stack =
    record.error instanceof Error ? `\n${record.error.stack ?? record.error.message}` : ''
  process.stderr.write(`${record.message}${stack}\n`)
}

let handler: LogHandler = defaultHandler

/** Install the process-wide handler; returns the previous one (restore it in tests). */
export function setLogHandler(next: LogHandler | null): LogHandler {
  const previous = handler
  handler = next ?? defaultHandler
  return previous
}

/** A logger whose records carry `name` (e.g. `'channels.server'`, `'channels.security'`). */
export function getLogger(name: string): Logger {
  const emit = (level: LogLevel, message: string, error?: unknown) => {
    try {
      handler(
        error === undefined
          ? { level, logger: name, message }
          : { level, logger: name, message, error },
      )
    } catch {
      // A broken handler must never take a connection down with it.
    }
  }
  return {
    debug: (message, error) => emit('debug', message, error),
    info: (message, error) => emit('info', message, error),
    warn: (message, error) => emit('warn', message, error),
    error: (message, error) => emit('error', message, error),
  }
}
