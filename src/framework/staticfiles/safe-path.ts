/**
 * Turn a request path under STATIC_URL into a safe relative file path, or refuse it. Every
 * segment is percent-decoded on its own, so an encoded slash (`%2f`, `%5c`) can never create a
 * segment boundary, and `.`/`..` segments (plain or encoded as `%2e%2e`) are refused rather than
 * normalised away.
 * @module
 */

/** The outcome: a relative path (segments joined with `/`), or why it was refused. */
export type StaticPathResult =
  | { ok: true; relativePath: string }
  | { ok: false; reason: 'not-static' | 'bad-encoding' | 'forbidden' }

/**
 * `rawPath` is the still-encoded request path (ASGI `raw_path`, without the query string);
 * `staticUrl` is STATIC_URL as a path prefix (`/static/`).
 */
export function staticRelativePath(rawPath: string, staticUrl: string): StaticPathResult {
  const prefix = staticUrl.endsWith('/') ? staticUrl : `${staticUrl}/`
  if (!rawPath.startsWith(prefix)) return { ok: false, reason: 'not-static' }
  const rest = rawPath.slice(prefix.length)
  if (rest === '') return { ok: false, reason: 'forbidden' }
  const segments: string[] = []
  for (const encoded of rest.split('/')) {
    let segment: string
    try {
      segment = decodeURIComponent(encoded)
    } catch {
      return { ok: false, reason: 'bad-encoding' }
    }
    if (
      segment === '' ||
      segment === '.' ||
      segment === '..' ||
      segment.includes('/') ||
      segment.includes('\\') ||
      segment.includes('\0')
    ) {
      return { ok: false, reason: 'forbidden' }
    }
    segments.push(segment)
  }
  return { ok: true, relativePath: segments.join('/') }
}
