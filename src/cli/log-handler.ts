/**
 * The framework's log records, printed by the CLI: runserver prints them plainly (Django's console
 * handler, `%(message)s`), serve in Daphne's `--log-fmt` (`%(asctime)-15s %(levelname)-8s
 * %(message)s`). Both go to stderr.
 * @module
 */
import type { LogHandler, LogLevel, LogRecord } from '../asgi/logging.js'
import type { CliContext } from './io.js'

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }
const PYTHON_NAMES: Record<LogLevel, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
}

/** Options for {@link createLogHandler}. */
export interface LogHandlerOptions {
  minLevel: LogLevel
  format: 'plain' | 'daphne'
}

/** A handler writing records at or above `minLevel` to the context's stderr. */
export function createLogHandler(ctx: CliContext, options: LogHandlerOptions): LogHandler {
  return (record: LogRecord) => {
    if (ORDER[record.level] < ORDER[options.minLevel]) return
    const stack =
      record.error instanceof Error ? `\n${record.error.stack ?? record.error.message}` : ''
    const text =
      options.format === 'daphne'
        ? `${asctime(ctx.now())} ${PYTHON_NAMES[record.level].padEnd(8)} ${record.message}${stack}`
        : `${record.message}${stack}`
    const painted =
      record.level === 'error'
        ? ctx.paint.red(text)
        : record.level === 'warn'
          ? ctx.paint.yellow(text)
          : text
    ctx.stderr(`${painted}\n`)
  }
}

/** Python logging's default `asctime`: `2026-11-26 12:31:04,105`. */
export function asctime(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return (
    `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ` +
    `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())},${p(date.getMilliseconds(), 3)}`
  )
}
