/**
 * An in-process session store (SESSION_ENGINE `'memory'`, Django's `cache` backend with the
 * local-memory cache). Lost on restart and not shared between processes: for development.
 * @module
 */
import { randomSessionKey, type SessionData, type SessionStore } from './store.js'

interface Entry {
  /** Serialized, so stored data never aliases live objects and must be JSON-able. */
  json: string
  expiresAt: number
}

/** Sessions in a Map, expired lazily on read. */
export class MemorySessionStore implements SessionStore {
  readonly #entries = new Map<string, Entry>()

  async load(key: string): Promise<SessionData | null> {
    const entry = this.#live(key)
    return entry === undefined ? null : (JSON.parse(entry.json) as SessionData)
  }

  async save(
    key: string,
    data: SessionData,
    expiresAt: Date,
    mustCreate: boolean,
  ): Promise<boolean> {
    const exists = this.#live(key) !== undefined
    if (exists === mustCreate) return false
    this.#entries.set(key, { json: JSON.stringify(data), expiresAt: expiresAt.getTime() })
    return true
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key)
  }

  async exists(key: string): Promise<boolean> {
    return this.#live(key) !== undefined
  }

  createKey(): string {
    return randomSessionKey()
  }

  /** Drop expired sessions now (they are otherwise dropped when next read). */
  clearExpired(): void {
    const now = Date.now()
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key)
  }

  /** How many sessions are held (expired ones included until cleared). */
  get size(): number {
    return this.#entries.size
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry !== undefined && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }
}
