/**
 * `django_session.session_data`, as Django writes and reads it:
 * - Django 3.1 and later: `signing.dumps(data, salt='django.contrib.sessions.SessionStore',
 *   compress=True)`, JSON signed with HMAC-SHA256 (what this module writes);
 * - before 3.1: base64 of `hash:json`, the hash a SHA-1 salted HMAC, which Django 3.1 and 3.2
 *   still read (and 4.0 no longer does).
 * @module
 */
import type { SessionData } from '../sessions/store.js'
import { errorText } from '../../../util/describe.js'
import { BadSignature, constantTimeCompare, dumps, loads, saltedHmac } from '../signing.js'

/** The signing salt of the db and cached_db engines: `'django.contrib.sessions.' + 'SessionStore'`. */
export const SESSION_DATA_SALT = 'django.contrib.sessions.SessionStore'
/** The pre-3.1 format's HMAC salt: `'django.contrib.sessions' + 'SessionStore'`. */
const LEGACY_SALT = 'django.contrib.sessionsSessionStore'

/** A decoded `session_data`: the data, or why it could not be read. */
export type DecodedSessionData =
  { ok: true; data: SessionData; format: 'signed' | 'legacy' } | { ok: false; reason: string }

/** Keys for signing: the current one first, then the fallbacks. */
export interface SessionKeys {
  key: string
  fallbackKeys: readonly string[]
}

/** Encode `data` as Django 3.1+ does. */
export function encodeSessionData(data: SessionData, keys: SessionKeys): string {
  return dumps(data, { key: keys.key, salt: SESSION_DATA_SALT, compress: true })
}

/** Decode `session_data` in either format Django 3.2 reads. */
export function decodeSessionData(text: string, keys: SessionKeys): DecodedSessionData {
  try {
    return {
      ok: true,
      data: asData(loads(text, { ...keys, salt: SESSION_DATA_SALT })),
      format: 'signed',
    }
  } catch (error) {
    if (!(error instanceof BadSignature) && !(error instanceof NotAnObject)) {
      return { ok: false, reason: `unreadable session data (${errorText(error)})` }
    }
  }
  return decodeLegacy(text, keys)
}

function decodeLegacy(text: string, keys: SessionKeys): DecodedSessionData {
  const unreadable = {
    ok: false,
    reason:
      'session data is in neither format Django 3.2 reads (signed with another SECRET_KEY, or corrupted)',
  } as const
  // Python's base64.b64decode: standard alphabet, padding required.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return unreadable
  // latin-1, as Django's JSONSerializer encodes (its JSON is ASCII: json.dumps escapes the rest).
  const decoded = Buffer.from(text, 'base64').toString('latin1')
  const colon = decoded.indexOf(':')
  if (colon < 0) return unreadable
  const hash = decoded.slice(0, colon)
  const serialized = decoded.slice(colon + 1)
  const matches = [keys.key, ...keys.fallbackKeys].some((key) =>
    constantTimeCompare(hash, saltedHmac(LEGACY_SALT, serialized, key, 'sha1').toString('hex')),
  )
  if (!matches) return unreadable
  try {
    return { ok: true, data: asData(JSON.parse(serialized) as unknown), format: 'legacy' }
  } catch {
    return unreadable
  }
}

class NotAnObject extends Error {}

function asData(value: unknown): SessionData {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new NotAnObject('session data is not a JSON object')
  }
  return value as SessionData
}
