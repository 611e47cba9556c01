/**
 * What the auth middleware needs from users and backends; the project (or DjangoModelBackend)
 * supplies both.
 * @module
 */

/** What `login` needs from a user object. */
export interface AuthUser {
  /** Primary key; stored in the session as a string. */
  id: string | number
  username?: string
  /** Treated as true when absent (only AnonymousUser says false). */
  isAuthenticated?: boolean
  isAnonymous?: boolean
  /** The name of the backend that authenticated this user (used by `login`). */
  backend?: string
  /**
   * A hash of credentials (e.g. of the password hash): when it changes, sessions made with the
   * old one stop authenticating (Django's `get_session_auth_hash`).
   */
  getSessionAuthHash?(): string
  /**
   * Whether a session's stored auth hash is this user's. When absent, the hash must equal
   * `getSessionAuthHash()`; a user model that accepts older forms (other keys, older
   * algorithms) says so here.
   */
  verifySessionAuthHash?(stored: string): boolean
  /** Run by `login()` once the user is in the session (Django's `update_last_login`). */
  recordLogin?(): Promise<void>
}

/**
 * Looks users up by the id stored in the session. Implement this for your user storage and list
 * the object (or class, instantiated once) in AUTHENTICATION_BACKENDS.
 */
export interface AuthBackend<U extends AuthUser = AuthUser> {
  /** The user with this id (the session's string form of `user.id`), or null. */
  getUser(userId: string): Promise<U | null> | U | null
  /** Stored in the session; defaults to the class name. Must be unique among the backends. */
  name?: string
}
