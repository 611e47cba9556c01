/**
 * Serve STATIC_URL from the project's static folders during development (Django's
 * ASGIStaticFilesHandler). Requests outside STATIC_URL, and every non-HTTP scope, go to the
 * wrapped application. Files are streamed; HEAD, ETag/Last-Modified and 304 are supported.
 * @module
 */
import { createReadStream, type Stats } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import { decodeLatin1, getHeader, toHeaderPairs } from '../asgi/headers.js'
import type { Application, HeaderPair, HttpScope, Send } from '../asgi/types.js'
import { contentTypeFor } from './content-types.js'
import { staticRelativePath } from './safe-path.js'

/** Options for {@link StaticFilesHandler}. */
export interface StaticFilesOptions {
  /** The URL prefix (settings.STATIC_URL), e.g. `/static/`. */
  staticUrl: string
  /** Absolute folders searched in order (STATICFILES_DIRS, then each app's `static/`). */
  roots: readonly string[]
}

const CHUNK_SIZE = 64 * 1024

/** Wrap `app` so that GET/HEAD under `staticUrl` are answered from `roots`. */
export function StaticFilesHandler(app: Application, options: StaticFilesOptions): Application {
  const staticUrl = normaliseStaticUrl(options.staticUrl)
  const roots = options.roots.map((root) => resolve(root))
  return async (scope, receive, send) => {
    if (scope.type !== 'http') return app(scope, receive, send)
    const rawPath = scope.raw_path
      ? (decodeLatin1(scope.raw_path).split('?')[0] ?? '')
      : encodeURI(scope.path)
    const found = staticRelativePath(rawPath, staticUrl)
    if (!found.ok && found.reason === 'not-static') return app(scope, receive, send)
    if (!found.ok) return respond(send, found.reason === 'bad-encoding' ? 400 : 404, 'Not Found')
    if (scope.method !== 'GET' && scope.method !== 'HEAD') {
      return respond(send, 405, 'Method Not Allowed', [['allow', 'GET, HEAD']])
    }
    const file = await findFile(roots, found.relativePath)
    if (!file) return respond(send, 404, 'Not Found')
    return serveFile(scope, send, file.path, file.stats)
  }
}

function normaliseStaticUrl(url: string): string {
  // STATIC_URL may be relative ('static/', Django ≥ 3.1): it is then under the site root.
  const withSlash = url.endsWith('/') ? url : `${url}/`
  return withSlash.startsWith('/') ? withSlash : `/${withSlash}`
}

async function findFile(
  roots: readonly string[],
  relativePath: string,
): Promise<{ path: string; stats: Stats } | undefined> {
  for (const root of roots) {
    const candidate = join(root, relativePath)
    // Belt and braces: safe-path already refused '..', but never leave the root anyway.
    if (!candidate.startsWith(root + sep)) continue
    try {
      const stats = await stat(candidate)
      if (!stats.isFile()) continue
      // A symlink may point anywhere; follow it only when it stays inside the root.
      const real = await realpath(candidate)
      const realRoot = await realpath(root)
      if (!real.startsWith(realRoot + sep)) continue
      return { path: candidate, stats }
    } catch {
      continue
    }
  }
  return undefined
}

async function serveFile(scope: HttpScope, send: Send, path: string, stats: Stats): Promise<void> {
  const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`
  const lastModified = new Date(Math.floor(stats.mtimeMs / 1000) * 1000).toUTCString()
  const validators: [string, string][] = [
    ['etag', etag],
    ['last-modified', lastModified],
  ]
  if (notModified(scope.headers, etag, stats.mtimeMs)) {
    await send({ type: 'http.response.start', status: 304, headers: toHeaderPairs(validators) })
    await send({ type: 'http.response.body', body: Buffer.alloc(0) })
    return
  }
  await send({
    type: 'http.response.start',
    status: 200,
    headers: toHeaderPairs([
      ['content-type', contentTypeFor(path)],
      ['content-length', String(stats.size)],
      ...validators,
    ]),
  })
  if (scope.method === 'HEAD' || stats.size === 0) {
    await send({ type: 'http.response.body', body: Buffer.alloc(0) })
    return
  }
  const stream = createReadStream(path, { highWaterMark: CHUNK_SIZE, end: stats.size - 1 })
  let sent = 0
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      sent += chunk.length
      await send({ type: 'http.response.body', body: chunk, more_body: sent < stats.size })
    }
  } finally {
    stream.destroy()
  }
  // The file shrank while we read it: end the response anyway.
  if (sent < stats.size) await send({ type: 'http.response.body', body: Buffer.alloc(0) })
}

function notModified(headers: Iterable<HeaderPair>, etag: string, mtimeMs: number): boolean {
  const ifNoneMatch = getHeader(headers, 'if-none-match')
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => {
      const t = tag.trim()
      return t === '*' || t === etag || `W/${t}` === etag
    })
  }
  const ifModifiedSince = getHeader(headers, 'if-modified-since')
  if (ifModifiedSince === undefined) return false
  const since = Date.parse(ifModifiedSince)
  return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since
}

async function respond(
  send: Send,
  status: number,
  text: string,
  extra: [string, string][] = [],
): Promise<void> {
  const body = Buffer.from(`${text}\n`)
  await send({
    type: 'http.response.start',
    status,
    headers: toHeaderPairs([
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(body.length)],
      ...extra,
    ]),
  })
  await send({ type: 'http.response.body', body })
}
