/**
 * `Session`: Django's `SessionBase` — a dict-like view of one session plus its key and expiry.
 * Engines subclass it (store-backed or signed cookie). Reads and writes are synchronous on the
 * loaded data; `load`, `save`, `flush` and `cycleKey` talk to storage and are async.
 * @module
 */
import { getSettings } from '../../settings/index.js'
import type { SessionData } from './store.js'

/** Session data key of a custom expiry (seconds, 0 = browser close, or an ISO date), as Django. */
export const EXPIRY_KEY = '_session_expiry'

const EMPTY_DATA: Readonly<SessionData> = Object.freeze({})

/** One client's session. `modified` says whether the response must save it. */
export abstract class Session {
  /** Set by every write; the session middleware saves modified sessions. */
  modified = false
  /** Set by every read. */
  accessed = false
  #key: string | null = null
  /**
   * The loaded data; undefined until `load()` ran. null: loaded and empty, not built yet (a
   * session without a key starts so; most WebSocket connections never touch theirs).
   */
  protected cache: SessionData | undefined | null

  constructor(sessionKey: string | null = null) {
    this.sessionKeyInternal = sessionKey
    if (this.#key === null) this.cache = null
  }

  /** The session's key (the cookie value), or null before the first save. */
  get sessionKey(): string | null {
    return this.#key
  }

  // Django's _validate_session_key: anything shorter than 8 characters is no key.
  protected set sessionKeyInternal(value: string | null) {
    this.#key = value && value.length >= 8 ? value : null
  }

  protected get sessionKeyInternal(): string | null {
    return this.#key
  }

  /** Fetch the data from storage (once); the session middleware calls this before the app. */
  async load(): Promise<void> {
    if (this.cache !== undefined) return
    this.cache = this.#key === null ? null : await this.loadData()
  }

  /** True once the data is available (always for a session made without a key). */
  get loaded(): boolean {
    return this.cache !== undefined
  }

  /** The data, loading nothing: a session with a key must have been `load()`ed. */
  protected get data(): SessionData {
    if (this.cache === undefined) {
      if (this.#key !== null)
        throw new Error('Session data is not loaded yet: await session.load() first.')
      this.cache = {}
    } else if (this.cache === null) {
      this.cache = {}
    }
    return this.cache
  }

  /**
   * The data for reading: like `data`, but a session that is still empty is read through one
   * shared frozen object, so reading (e.g. the auth middleware looking for a user id on every
   * WebSocket connect) builds no object per connection.
   */
  protected get readData(): Readonly<SessionData> {
    const cache = this.cache
    return cache === null ? EMPTY_DATA : cache === undefined ? this.data : cache
  }

  /** The value under `key`, or `fallback`. */
  get<T = unknown>(key: string, fallback?: T): T | undefined {
    this.accessed = true
    const data = this.readData
    return Object.hasOwn(data, key) ? (data[key] as T) : fallback
  }

  /** Store a JSON-serializable value. */
  set(key: string, value: unknown): this {
    this.data[key] = value
    this.modified = true
    return this
  }

  /** Remove `key`; returns whether it was there. */
  delete(key: string): boolean {
    this.accessed = true
    if (!Object.hasOwn(this.readData, key)) return false
    // The data is a JSON object, as Django's is a dict: its keys are the session's own.
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- see above
    delete this.data[key]
    this.modified = true
    return true
  }

  /** Whether `key` is set. */
  has(key: string): boolean {
    this.accessed = true
    return Object.hasOwn(this.readData, key)
  }

  /** Remove and return `key`'s value (or `fallback`). */
  pop<T = unknown>(key: string, fallback?: T): T | undefined {
    const value = this.get(key, fallback)
    this.delete(key)
    return value
  }

  /** The value under `key`, storing `value` first if it is absent. */
  setDefault<T>(key: string, value: T): T {
    if (this.has(key)) return this.data[key] as T
    this.set(key, value)
    return value
  }

  /** Set several keys at once. */
  update(values: SessionData): void {
    Object.assign(this.data, values)
    this.modified = true
  }

  keys(): string[] {
    this.accessed = true
    return Object.keys(this.readData)
  }

  entries(): [string, unknown][] {
    this.accessed = true
    return Object.entries(this.readData)
  }

  /** Drop every key (the key itself stays; see `flush`). */
  clear(): void {
    this.cache = {}
    this.accessed = true
    this.modified = true
  }

  /** True when there is neither a key nor data (Django's `is_empty`). */
  isEmpty(): boolean {
    if (this.#key) return false
    return this.cache === undefined || this.cache === null || Object.keys(this.cache).length === 0
  }

  /** Milliseconds until the session expires, counted from now. */
  getExpiryAge(): number {
    const expiry = this.get(EXPIRY_KEY)
    if (!expiry) return cookieAgeMs()
    if (typeof expiry === 'number') return expiry * 1000
    const at = typeof expiry === 'string' ? Date.parse(expiry) : Number.NaN
    return Number.isNaN(at) ? cookieAgeMs() : at - Date.now()
  }

  /** When the session expires. */
  getExpiryDate(): Date {
    return new Date(Date.now() + this.getExpiryAge())
  }

  /**
   * Set a custom expiry: milliseconds from now, a Date, `0` for "when the browser closes", or
   * `null` to fall back to SESSION_COOKIE_AGE. Stored as Django does (seconds or ISO date).
   */
  setExpiry(value: number | Date | null): void {
    if (value === null) {
      this.delete(EXPIRY_KEY)
      return
    }
    this.set(EXPIRY_KEY, value instanceof Date ? value.toISOString() : Math.round(value / 1000))
  }

  /** Whether the cookie should last only until the browser closes. */
  getExpireAtBrowserClose(): boolean {
    const expiry = this.get(EXPIRY_KEY)
    if (expiry === undefined || expiry === null)
      return getSettings().SESSION_EXPIRE_AT_BROWSER_CLOSE
    return expiry === 0
  }

  /** Delete the session from storage and start an empty one with no key (e.g. on logout). */
  async flush(): Promise<void> {
    this.clear()
    await this.deleteStored()
    this.sessionKeyInternal = null
  }

  /** Keep the data under a new key and delete the old one (against session fixation). */
  async cycleKey(): Promise<void> {
    const data = this.data
    const key = this.#key
    await this.create()
    this.cache = data
    if (key) await this.deleteStored(key)
  }

  /** Read this session's data from storage; reset the key if it is gone. */
  protected abstract loadData(): Promise<SessionData>
  /** Whether `key` is taken in storage. */
  abstract exists(key: string): Promise<boolean>
  /** Give the session a new key and store it. */
  abstract create(): Promise<void>
  /** Persist the session; UpdateError if it was deleted meanwhile. */
  abstract save(mustCreate?: boolean): Promise<void>
  /** Delete `key` (default: this session's) from storage. */
  abstract deleteStored(key?: string): Promise<void>
}

/** SESSION_COOKIE_AGE (seconds in settings, like Django) in milliseconds. */
export function cookieAgeMs(): number {
  return getSettings().SESSION_COOKIE_AGE * 1000
}
