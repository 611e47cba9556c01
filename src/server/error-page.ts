/**
 * The small HTML page the server answers with on its own errors (400 bad input, 500 app crash,
 * 503 http timeout): Daphne's `basic_error` template, byte for byte, with our name in the footer.
 * @module
 */
import { STATUS_CODES } from 'node:http'
import type { ResponseHead } from './reactor/types.js'

/** The standard reason phrase for a status code (`Bad Request`), or `Unknown`. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown'
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;',
  )
}

/** Daphne's error template with its whitespace already collapsed (see daphne/http_protocol.py). */
export function errorPageHtml(status: number, message: string): string {
  const title = `${status} ${reasonPhrase(status)}`
  return (
    ` <html> <head> <title>${title}</title> <style>  body { font-family: sans-serif; margin: 0; padding: 0; }` +
    `  h1 { padding: 0.6em 0 0.2em 20px; color: #896868; margin: 0; }  p { padding: 0 0 0.3em 20px; margin: 0; }` +
    `  footer { padding: 1em 0 0.3em 20px; color: #999; font-size: 80%; font-style: italic; } </style> </head>` +
    ` <body> <h1>${title}</h1> <p>${escapeHtml(message)}</p> <footer>channels-ts</footer> </body> </html> `
  )
}

/** Head and body of an error page, ready for a responder (`Server` header added when named). */
export function errorPage(
  status: number,
  message: string,
  serverName: string,
): { head: ResponseHead; body: Buffer } {
  const body = Buffer.from(errorPageHtml(status, message), 'utf8')
  const headers: ResponseHead['headers'] = [['Content-Type', 'text/html; charset=utf-8']]
  if (serverName) headers.push(['Server', serverName])
  headers.push(['Content-Length', String(body.byteLength)])
  return { head: { status, headers }, body }
}
