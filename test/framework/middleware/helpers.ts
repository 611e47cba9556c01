/**
 * Shared fixtures for the middleware suites: settings per test, temp SQLite files, apps.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { HeaderPair } from '../../../src/framework/asgi/types.js'
import { AsyncConsumer } from '../../../src/framework/consumers/index.js'
import { closeSessionStores } from '../../../src/framework/middleware/sessions/engine.js'
import type { Session } from '../../../src/framework/middleware/sessions/session.js'
import { configureSettings, type Settings } from '../../../src/framework/settings/index.js'

/** A temp directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'channels-mw-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Install settings for one test; returns the restore function (also closes session stores). */
export function useSettings(settings: Settings): () => void {
  const previous = configureSettings({ SECRET_KEY: 'test-secret-key', ...settings })
  return () => {
    closeSessionStores()
    configureSettings(previous)
  }
}

/** Settings for each engine the suites run against (sqlite needs a DB path). */
export function engineSettings(engine: string, dir: string): Settings {
  if (engine === 'db') return { SESSION_ENGINE: 'db', SESSION_DB_PATH: join(dir, 'db.sqlite3') }
  if (engine === 'file') return { SESSION_ENGINE: 'file', SESSION_FILE_PATH: join(dir, 'sessions') }
  return { SESSION_ENGINE: engine }
}

/** Headers as strings, for assertions. */
export function textHeaders(headers: Iterable<HeaderPair>): [string, string][] {
  return [...headers].map(([n, v]) => [
    Buffer.from(n).toString('latin1'),
    Buffer.from(v).toString('latin1'),
  ])
}

/** The value of the cookie `name` in a response's Set-Cookie headers. */
export function cookieFrom(headers: Iterable<HeaderPair>, name: string): string | undefined {
  for (const [n, v] of textHeaders(headers)) {
    if (n.toLowerCase() !== 'set-cookie') continue
    const m = new RegExp(`^${name}=([^;]*)`).exec(v)
    if (m) return m[1]!.replace(/^"(.*)"$/, '$1')
  }
  return undefined
}

/** Channels' SimpleHttpApp: saves the session, answers 200 with the path. */
export class SimpleHttpApp extends AsyncConsumer {
  async http_request(): Promise<void> {
    await (this.scope.session as Session).save()
    await this.send({ type: 'http.response.start', status: 200, headers: [] })
    await this.send({ type: 'http.response.body', body: Buffer.from(this.scope.path as string) })
  }
}
