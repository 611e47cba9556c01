/**
 * Django's `signed_cookies` session backend: the data itself, signed with SECRET_KEY, is the
 * cookie value. Nothing is stored server-side; a tampered or expired cookie reads as empty.
 * Byte-compatible with Django's, so both can share sessions given the same SECRET_KEY.
 * @module
 */
import { dumps, loads } from '../signing.js'
import { cookieAgeMs, Session } from './session.js'
import type { SessionData } from './store.js'

/** The salt Django uses for signed-cookie sessions. */
export const SIGNED_COOKIES_SALT = 'django.contrib.sessions.backends.signed_cookies'

/** A session stored in its own signed cookie. */
export class SignedCookieSession extends Session {
  protected async loadData(): Promise<SessionData> {
    try {
      const data = loads(this.sessionKey!, { salt: SIGNED_COOKIES_SALT, maxAge: cookieAgeMs() })
      if (data !== null && typeof data === 'object' && !Array.isArray(data))
        return data as SessionData
    } catch {
      // Bad signature, expired, or not ours: start over (Django calls create()).
    }
    this.modified = true
    return {}
  }

  /** Always false: there is no server-side key space. */
  async exists(_key: string): Promise<boolean> {
    return false
  }

  async create(): Promise<void> {
    this.modified = true
  }

  /** Re-sign the data; the new "key" is the cookie value. */
  async save(_mustCreate = false): Promise<void> {
    this.sessionKeyInternal = dumps(this.data, { salt: SIGNED_COOKIES_SALT, compress: true })
    this.modified = true
  }

  async deleteStored(_key?: string): Promise<void> {
    // Django sets the key to '' (no key) and empties the data; the response deletes the cookie.
    this.sessionKeyInternal = null
    this.cache = {}
    this.modified = true
  }

  override async cycleKey(): Promise<void> {
    await this.save()
  }
}
