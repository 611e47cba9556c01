/**
 * StaticFilesHandler: files under STATIC_URL, content types, validators and 304, HEAD, streaming,
 * 404s, and no way out of the static roots (plain, encoded and double-encoded traversal).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Application } from '../../../src/framework/asgi/types.js'
import {
  contentTypeFor,
  StaticFilesHandler,
  staticRelativePath,
  staticRoots,
} from '../../../src/framework/staticfiles/index.js'
import { callHttp } from '../../cli/http-call.js'

let dir: string
let app: Application
const inner: Application = async (scope, _receive, send) => {
  await send({ type: 'http.response.start', status: 200, headers: [] })
  await send({
    type: 'http.response.body',
    body: Buffer.from(`inner:${scope.type === 'http' ? scope.path : ''}`),
  })
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'channels-static-'))
  mkdirSync(join(dir, 'static/css'), { recursive: true })
  mkdirSync(join(dir, 'chat/static/chat'), { recursive: true })
  writeFileSync(join(dir, 'settings.ts'), 'export default { SECRET_KEY: "s3cret" }\n')
  writeFileSync(join(dir, 'static/index.html'), '<h1>hi</h1>')
  writeFileSync(join(dir, 'static/css/site.css'), 'body{}')
  writeFileSync(join(dir, 'static/with space.txt'), 'spaced')
  writeFileSync(join(dir, 'static/big.bin'), Buffer.alloc(300 * 1024, 7))
  writeFileSync(join(dir, 'static/data.unknownext'), 'x')
  writeFileSync(join(dir, 'chat/static/chat/room.js'), 'console.log(1)')
  symlinkSync(join(dir, 'settings.ts'), join(dir, 'static/escape.ts'))
  app = StaticFilesHandler(inner, {
    staticUrl: '/static/',
    roots: [join(dir, 'static'), join(dir, 'chat/static')],
  })
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('serving', () => {
  it('serves a file with its content type and length', async () => {
    const res = await callHttp(app, '/static/index.html')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.headers['content-length']).toBe('11')
    expect(res.body.toString()).toBe('<h1>hi</h1>')
  })

  it('searches the roots in order (app static folders too)', async () => {
    const css = await callHttp(app, '/static/css/site.css')
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8')
    const js = await callHttp(app, '/static/chat/room.js')
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
  })

  it('decodes percent-encoded names', async () => {
    const res = await callHttp(app, '/static/with%20space.txt')
    expect(res.body.toString()).toBe('spaced')
  })

  it('answers HEAD without a body', async () => {
    const res = await callHttp(app, '/static/index.html', { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers['content-length']).toBe('11')
    expect(res.body.length).toBe(0)
  })

  it('streams large files in chunks', async () => {
    const res = await callHttp(app, '/static/big.bin')
    expect(res.body.length).toBe(300 * 1024)
    expect(res.chunks).toBeGreaterThan(1)
    expect(res.headers['content-type']).toBe('application/octet-stream')
  })

  it('answers 304 to a matching If-None-Match or a fresh If-Modified-Since', async () => {
    const first = await callHttp(app, '/static/index.html')
    const etag = first.headers.etag!
    expect(etag).toMatch(/^W\/".+"$/)
    const cached = await callHttp(app, '/static/index.html', { headers: [['If-None-Match', etag]] })
    expect(cached.status).toBe(304)
    expect(cached.body.length).toBe(0)
    const since = await callHttp(app, '/static/index.html', {
      headers: [['If-Modified-Since', first.headers['last-modified']!]],
    })
    expect(since.status).toBe(304)
    const stale = await callHttp(app, '/static/index.html', {
      headers: [['If-None-Match', 'W/"nope"']],
    })
    expect(stale.status).toBe(200)
  })

  it('404s a missing file or a directory; 405s other methods', async () => {
    expect((await callHttp(app, '/static/missing.txt')).status).toBe(404)
    expect((await callHttp(app, '/static/css')).status).toBe(404)
    expect((await callHttp(app, '/static/')).status).toBe(404)
    const post = await callHttp(app, '/static/index.html', { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
  })

  it('passes other paths and other scope types to the inner app', async () => {
    expect((await callHttp(app, '/')).body.toString()).toBe('inner:/')
    expect((await callHttp(app, '/staticky/x')).body.toString()).toBe('inner:/staticky/x')
    // A WebSocket on a static path is not a file request: the inner app gets it.
    const sent: unknown[] = []
    await app(
      {
        type: 'websocket',
        path: '/static/index.html',
        query_string: Buffer.alloc(0),
        headers: [],
        subprotocols: [],
      },
      async () => ({ type: 'websocket.connect' }),
      async (event) => void sent.push(event),
    )
    expect(sent).toContainEqual({ type: 'http.response.body', body: Buffer.from('inner:') })
  })
})

describe('path traversal', () => {
  it.each([
    '/static/../settings.ts',
    '/static/..%2fsettings.ts',
    '/static/..%2f..%2fsettings.ts',
    '/static/%2e%2e/settings.ts',
    '/static/%2E%2E%2Fsettings.ts',
    '/static/css/..%5c..%5csettings.ts',
    '/static/./index.html',
    '/static/css%2f..%2f..%2fsettings.ts',
    '/static/%00index.html',
    '/static//etc/passwd',
  ])('%s → 404', async (path) => {
    const res = await callHttp(app, path)
    expect(res.status).toBe(404)
    expect(res.body.toString()).not.toContain('s3cret')
  })

  it('a bad percent-encoding is a 400', async () => {
    expect((await callHttp(app, '/static/%E0%A4%A')).status).toBe(400)
  })

  it('a symlink pointing out of the root is not followed', async () => {
    const res = await callHttp(app, '/static/escape.ts')
    expect(res.status).toBe(404)
  })

  it('staticRelativePath refuses dot segments and encoded separators', () => {
    expect(staticRelativePath('/static/a/b.css', '/static/')).toEqual({
      ok: true,
      relativePath: 'a/b.css',
    })
    expect(staticRelativePath('/static/a%2fb.css', '/static/')).toEqual({
      ok: false,
      reason: 'forbidden',
    })
    expect(staticRelativePath('/static/%2e%2e', '/static/')).toEqual({
      ok: false,
      reason: 'forbidden',
    })
    expect(staticRelativePath('/other/a.css', '/static/')).toEqual({
      ok: false,
      reason: 'not-static',
    })
    expect(staticRelativePath('/static/%zz', '/static/')).toEqual({
      ok: false,
      reason: 'bad-encoding',
    })
    expect(staticRelativePath('/assets/x.js', '/assets')).toEqual({
      ok: true,
      relativePath: 'x.js',
    })
  })
})

describe('helpers', () => {
  it('content types by extension', () => {
    expect(contentTypeFor('a.JS')).toBe('text/javascript; charset=utf-8')
    expect(contentTypeFor('a.svg')).toBe('image/svg+xml')
    expect(contentTypeFor('a.woff2')).toBe('font/woff2')
    expect(contentTypeFor('Makefile')).toBe('application/octet-stream')
  })

  it('staticRoots: STATICFILES_DIRS then app static folders, existing only', () => {
    expect(staticRoots(dir, { STATICFILES_DIRS: ['static', 'nope'] })).toEqual([
      join(dir, 'static'),
      join(dir, 'chat/static'),
    ])
    expect(staticRoots(dir, { INSTALLED_APPS: ['chat'] })).toEqual([join(dir, 'chat/static')])
    expect(
      staticRoots(dir, { STATICFILES_DIRS: [['prefix', 'static']], INSTALLED_APPS: [] }),
    ).toEqual([join(dir, 'static')])
  })

  it('a relative STATIC_URL is under the site root', async () => {
    const relative = StaticFilesHandler(inner, {
      staticUrl: 'static',
      roots: [join(dir, 'static')],
    })
    expect((await callHttp(relative, '/static/index.html')).status).toBe(200)
  })
})
