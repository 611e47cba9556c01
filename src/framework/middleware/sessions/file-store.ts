/**
 * A file-per-session store (SESSION_ENGINE `'file'`, Django's `file` backend): one JSON file per
 * session in SESSION_FILE_PATH (default: the OS temp directory), written atomically.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomSessionKey, type SessionData, type SessionStore } from './store.js'

/** Options of {@link FileSessionStore}. */
export interface FileSessionStoreOptions {
  /** Directory of the session files (created if missing; default: the OS temp directory). */
  directory?: string
  /** File name prefix (Django uses SESSION_COOKIE_NAME). */
  prefix?: string
}

interface FileEntry {
  data: SessionData
  expiresAt: number
}

// Keys become file names: only Django's key alphabet, so a cookie can't walk the filesystem.
const SAFE_KEY = /^[a-z0-9]+$/

/** Sessions as files: survives restarts, shared by processes on one machine. */
export class FileSessionStore implements SessionStore {
  readonly directory: string
  readonly prefix: string

  constructor(options: FileSessionStoreOptions = {}) {
    this.directory = options.directory ?? tmpdir()
    this.prefix = options.prefix ?? 'sessionid'
    mkdirSync(this.directory, { recursive: true })
  }

  async load(key: string): Promise<SessionData | null> {
    const entry = await this.#read(key)
    return entry !== null && entry.expiresAt > Date.now() ? entry.data : null
  }

  async save(
    key: string,
    data: SessionData,
    expiresAt: Date,
    mustCreate: boolean,
  ): Promise<boolean> {
    const file = this.#file(key)
    if (file === null) return false
    const json = JSON.stringify({ data, expiresAt: expiresAt.getTime() } satisfies FileEntry)
    if (mustCreate) {
      // 'wx' fails if the file exists: the create is atomic.
      const handle = await open(file, 'wx').catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null
        throw err
      })
      if (handle === null) return false
      try {
        await handle.writeFile(json)
      } finally {
        await handle.close()
      }
      return true
    }
    if (!(await this.exists(key))) return false
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`
    await writeFile(temp, json)
    await rename(temp, file)
    return true
  }

  async delete(key: string): Promise<void> {
    const file = this.#file(key)
    if (file !== null) await rm(file, { force: true })
  }

  async exists(key: string): Promise<boolean> {
    const file = this.#file(key)
    if (file === null) return false
    return stat(file).then(
      () => true,
      () => false,
    )
  }

  createKey(): string {
    return randomSessionKey()
  }

  /** Delete expired session files; returns how many went. */
  async clearExpired(): Promise<number> {
    let removed = 0
    for (const name of await readdir(this.directory)) {
      if (!name.startsWith(this.prefix) || name.endsWith('.tmp')) continue
      const entry = await this.#read(name.slice(this.prefix.length))
      if (entry !== null && entry.expiresAt <= Date.now()) {
        await this.delete(name.slice(this.prefix.length))
        removed++
      }
    }
    return removed
  }

  #file(key: string): string | null {
    return SAFE_KEY.test(key) ? join(this.directory, this.prefix + key) : null
  }

  async #read(key: string): Promise<FileEntry | null> {
    const file = this.#file(key)
    if (file === null) return null
    try {
      const entry = JSON.parse(await readFile(file, 'utf8')) as FileEntry
      return typeof entry.expiresAt === 'number' && typeof entry.data === 'object' ? entry : null
    } catch {
      return null
    }
  }
}
