/**
 * runserver's startup text, line for line Daphne's (daphne/management/commands/runserver.py),
 * with our names, plus the reactor line.
 * @module
 */

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]

const two = (n: number) => String(n).padStart(2, '0')

/** Python's `strftime("%B %d, %Y - %X")` in the C locale: `November 26, 2026 - 06:33:49`. */
export function formatBannerDate(date: Date): string {
  return (
    `${MONTHS[date.getMonth()]} ${two(date.getDate())}, ${date.getFullYear()} - ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`
  )
}

/** What goes into the banner. */
export interface BannerInfo {
  date: Date
  version: string
  settings: string
  url: string
  engine: string
  warning?: string
  platform?: NodeJS.Platform
}

/** The lines printed once the server listens. */
export function bannerLines(info: BannerInfo): string[] {
  const quit = (info.platform ?? process.platform) === 'win32' ? 'CTRL-BREAK' : 'CONTROL-C'
  const lines = [
    formatBannerDate(info.date),
    `channels-ts version ${info.version}, using settings '${info.settings}'`,
    `Starting ASGI/channels-ts version ${info.version} development server at ${info.url}`,
    `Quit the server with ${quit}.`,
    `Reactor: ${info.engine}`,
  ]
  if (info.warning) lines.push(`WARNING: ${info.warning}`)
  return lines
}
