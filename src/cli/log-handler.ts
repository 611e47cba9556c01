/**
 * The framework's log records, printed by the CLI: runserver prints them plainly (Django's console
 * handler, `%(message)s`), serve in Daphne's `--log-fmt` (default `%(asctime)-15s %(levelname)-8s
 * %(message)s`), a Python logging format string. Both go to stderr.
 * @module
 */
import type { LogHandler, LogLevel, LogRecord } from '../framework/asgi/logging.js'
import { CommandError } from './errors.js'
import type { CliContext } from './io.js'

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }
const PYTHON_NAMES: Record<LogLevel, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
}

/** Daphne's `-v/--verbosity` (0–3) as the lowest level logged; a usage error (exit 2) otherwise. */
export function verbosityLevel(verbosity: number | undefined): LogLevel {
  const level = VERBOSITY[verbosity ?? 1]
  if (level === undefined) {
    throw new CommandError(
      `argument -v/--verbosity: invalid choice: ${verbosity} (choose from 0, 1, 2, 3)`,
      { exitCode: 2 },
    )
  }
  return level
}

const VERBOSITY: Record<number, LogLevel> = { 0: 'warn', 1: 'info', 2: 'debug', 3: 'debug' }

/** Daphne's default `--log-fmt`. */
export const DAPHNE_LOG_FORMAT = '%(asctime)-15s %(levelname)-8s %(message)s'
/** Django's console handler: the message alone. */
export const PLAIN_LOG_FORMAT = '%(message)s'

/** Options for {@link createLogHandler}. */
export interface LogHandlerOptions {
  minLevel: LogLevel
  /** A Python logging format string (see {@link compileLogFormat}); default `%(message)s`. */
  format?: string
  /** Put before each record's line (a worker's `[worker 2] `). */
  prefix?: string
}

/** A handler writing records at or above `minLevel` to the context's stderr. */
export function createLogHandler(ctx: CliContext, options: LogHandlerOptions): LogHandler {
  const format = compileLogFormat(options.format ?? PLAIN_LOG_FORMAT)
  const prefix = options.prefix ?? ''
  return (record: LogRecord) => {
    if (ORDER[record.level] < ORDER[options.minLevel]) return
    // Python's Formatter appends the traceback after the formatted line.
    const stack =
      record.error instanceof Error ? `\n${record.error.stack ?? record.error.message}` : ''
    const text = `${prefix}${format(record, ctx.now())}${stack}`
    const painted =
      record.level === 'error'
        ? ctx.paint.red(text)
        : record.level === 'warn'
          ? ctx.paint.yellow(text)
          : text
    ctx.stderr(`${painted}\n`)
  }
}

/** The LogRecord attributes a format may name, as Python's logging computes them. */
const ATTRIBUTES: Record<string, (record: LogRecord, now: Date) => string | number> = {
  message: (r) => r.message,
  name: (r) => r.logger,
  levelname: (r) => PYTHON_NAMES[r.level],
  levelno: (r) => ORDER[r.level],
  asctime: (_r, now) => asctime(now),
  created: (_r, now) => now.getTime() / 1000,
  msecs: (_r, now) => now.getMilliseconds(),
  relativeCreated: (_r, now) => now.getTime() - performance.timeOrigin,
  process: () => process.pid,
}

/** `%(name)[flags][width][.precision]type`, or `%%`. */
const DIRECTIVE = /%(?:\((\w+)\)([-0]*)(\d*)(?:\.(\d+))?([sdif])|%)/g

/**
 * Compile a Python logging format string (%-style: `%(levelname)-8s`, `%(created).3f`, `%%`) into
 * a function of a record. Attributes: the keys of ATTRIBUTES; conversions s, d, i, f; flags `-`
 * (left-justify) and `0` (zero-pad). Anything else is refused up front (a usage error), where
 * Python would print "--- Logging error ---" for every record.
 */
export function compileLogFormat(format: string): (record: LogRecord, now: Date) => string {
  const usage = (problem: string) =>
    new CommandError(`argument --log-fmt: ${problem}`, { exitCode: 2 })
  if (format.replace(DIRECTIVE, '').includes('%')) {
    throw usage(`invalid format '${format}' (use %(attribute)s, %(attribute)-8s, %%)`)
  }
  const parts: ((record: LogRecord, now: Date) => string)[] = []
  let last = 0
  let fields = 0
  for (const match of format.matchAll(DIRECTIVE)) {
    const literal = format.slice(last, match.index)
    parts.push(() => literal)
    last = match.index + match[0].length
    if (match[0] === '%%') {
      parts.push(() => '%')
      continue
    }
    const [, key = '', flags = '', width = '', precision, type = 's'] = match
    const read = ATTRIBUTES[key]
    if (read === undefined) {
      throw usage(`unknown attribute '${key}' (known: ${Object.keys(ATTRIBUTES).join(', ')})`)
    }
    fields++
    parts.push((record, now) => pad(convert(read(record, now), type, precision), flags, width))
  }
  // Python's PercentStyle.validate: a format must name at least one attribute.
  if (fields === 0) throw usage(`invalid format '${format}' (it names no attribute)`)
  const rest = format.slice(last)
  parts.push(() => rest)
  return (record, now) => parts.map((part) => part(record, now)).join('')
}

function convert(value: string | number, type: string, precision: string | undefined): string {
  if (type === 's') {
    const text = String(value)
    return precision === undefined ? text : text.slice(0, Number(precision))
  }
  const number = Number(value)
  if (type === 'f') return number.toFixed(precision === undefined ? 6 : Number(precision))
  return String(Math.trunc(number))
}

function pad(text: string, flags: string, width: string): string {
  const size = width === '' ? 0 : Number(width)
  if (flags.includes('-')) return text.padEnd(size)
  if (flags.includes('0') && /^-?[\d.]+$/.test(text)) {
    const sign = text.startsWith('-') ? '-' : ''
    return sign + text.slice(sign.length).padStart(size - sign.length, '0')
  }
  return text.padStart(size)
}

/** Python logging's default `asctime`: `2026-11-26 12:31:04,105`. */
export function asctime(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return (
    `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ` +
    `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())},${p(date.getMilliseconds(), 3)}`
  )
}
