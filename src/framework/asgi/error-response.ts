/**
 * The framework's own error answers (400 for a disallowed host, 413 for a body over
 * DATA_UPLOAD_MAX_MEMORY_SIZE): Django's fallback error page (`django.views.defaults`), sent
 * through an ASGI `send`.
 * @module
 */
import type { Send } from './types.js'

/** Django's ERROR_PAGE_TEMPLATE with `title` filled in and no details. */
export function errorPageHtml(title: string): string {
  const escaped = title.replace(/[&<>"]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;',
  )
  return (
    `\n<!doctype html>\n<html lang="en">\n<head>\n  <title>${escaped}</title>\n</head>\n` +
    `<body>\n  <h1>${escaped}</h1><p></p>\n</body>\n</html>\n`
  )
}

const CONTENT_TYPE: [Uint8Array, Uint8Array] = [
  Buffer.from('content-type'),
  Buffer.from('text/html; charset=utf-8'),
]

/** Answer `status` with Django's page titled `title` (e.g. `Bad Request (400)`). */
export async function sendErrorPage(send: Send, status: number, title: string): Promise<void> {
  await send({ type: 'http.response.start', status, headers: [CONTENT_TYPE] })
  await send({ type: 'http.response.body', body: Buffer.from(errorPageHtml(title), 'utf8') })
}
