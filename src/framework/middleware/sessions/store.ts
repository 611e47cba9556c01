/**
 * The storage contract behind database-like session engines. The in-memory and SQLite stores
 * implement it; a Redis store only has to implement these five methods.
 * @module
 */
import { randomInt } from 'node:crypto'

/** A session's data: JSON-serializable values by key. */
export type SessionData = Record<string, unknown>

/** Where sessions live. Keys are opaque strings; expiry is absolute. */
export interface SessionStore {
  /** The data of a live (not expired) session, or null when there is none. */
  load(key: string): Promise<SessionData | null>
  /**
   * Write a session. `mustCreate`: insert only, resolve false if the key exists; otherwise
   * update only, resolve false if the key does not exist (deleted concurrently).
   */
  save(key: string, data: SessionData, expiresAt: Date, mustCreate: boolean): Promise<boolean>
  /** Remove a session (no error if it is absent). */
  delete(key: string): Promise<void>
  /** Whether a session with this key exists. */
  exists(key: string): Promise<boolean>
  /** A new random key candidate (uniqueness is checked with `exists`). */
  createKey(): string
  /** Release resources (close the database). */
  close?(): void
}

const KEY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789'

/** Django's session key: 32 random characters from [a-z0-9], from a CSPRNG. */
export function randomSessionKey(length = 32): string {
  let key = ''
  for (let i = 0; i < length; i++) key += KEY_CHARS.charAt(randomInt(KEY_CHARS.length))
  return key
}
