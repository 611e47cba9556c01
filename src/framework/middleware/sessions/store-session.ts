/**
 * A session kept in a {@link SessionStore} under a random key; the cookie carries only the key
 * (Django's `db` and `cache` backends).
 * @module
 */
import { CreateError, UpdateError } from './errors.js'
import { Session } from './session.js'
import type { SessionData, SessionStore } from './store.js'

/** A session whose data lives in `store`. */
export class StoreSession extends Session {
  constructor(
    readonly store: SessionStore,
    sessionKey: string | null = null,
  ) {
    super(sessionKey)
  }

  protected async loadData(): Promise<SessionData> {
    const data = await this.store.load(this.sessionKey!)
    // Unknown or expired key: forget it, so a client can't choose its own key (fixation).
    if (data === null) this.sessionKeyInternal = null
    return data ?? {}
  }

  exists(key: string): Promise<boolean> {
    return this.store.exists(key)
  }

  async create(): Promise<void> {
    for (;;) {
      this.sessionKeyInternal = await this.newKey()
      try {
        await this.save(true)
      } catch (err) {
        if (err instanceof CreateError) continue
        throw err
      }
      this.modified = true
      return
    }
  }

  async save(mustCreate = false): Promise<void> {
    const key = this.sessionKey
    if (key === null) return this.create()
    if (!mustCreate) await this.load()
    const data = this.cache ?? {}
    const ok = await this.store.save(key, data, this.getExpiryDate(), mustCreate)
    if (!ok) {
      throw mustCreate
        ? new CreateError(`Session key ${key} is taken`)
        : new UpdateError('The session no longer exists in its store')
    }
  }

  async deleteStored(key: string | null = this.sessionKey): Promise<void> {
    if (key === null) return
    await this.store.delete(key)
  }

  private async newKey(): Promise<string> {
    for (;;) {
      const key = this.store.createKey()
      if (!(await this.store.exists(key))) return key
    }
  }
}
