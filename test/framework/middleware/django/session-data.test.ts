/**
 * django_session.session_data against Django 3.2 itself: what Django writes we read, what we
 * write Django reads, in both formats Django 3.2 reads, and what neither accepts.
 */
import { describe, expect, it } from 'vitest'
import {
  decodeSessionData,
  encodeSessionData,
} from '../../../../src/framework/middleware/django/session-data.js'
import { runDjango } from './django-python.js'

const keys = { key: 'django-secret', fallbackKeys: [] }
const DATA = { _auth_user_id: '7', text: 'héllo ✓', list: [1, 2, { deep: null }], flag: true }

describe("Django's session_data", () => {
  it('reads what Django 3.2 writes, and Django reads what we write', async () => {
    const ours = encodeSessionData(DATA, keys)
    const result = (await runDjango(
      `
from django.contrib.sessions.backends.db import SessionStore
s = SessionStore()
print(json.dumps({'theirs': s.encode(ARGS['data']), 'legacy': s._legacy_encode(ARGS['data']),
                  'decoded': s.decode(ARGS['ours'])}))
`,
      { data: DATA, ours },
    )) as { theirs: string; legacy: string; decoded: unknown }
    expect(result.decoded).toEqual(DATA)
    expect(decodeSessionData(result.theirs, keys)).toEqual({
      ok: true,
      data: DATA,
      format: 'signed',
    })
    expect(decodeSessionData(result.legacy, keys)).toEqual({
      ok: true,
      data: DATA,
      format: 'legacy',
    })
  })

  it('compresses like Django: a long value round-trips through zlib', async () => {
    const big = { _auth_user_id: '1', filler: 'a'.repeat(5000) }
    const ours = encodeSessionData(big, keys)
    expect(ours.startsWith('.')).toBe(true)
    const decoded = await runDjango(
      `
from django.contrib.sessions.backends.db import SessionStore
print(json.dumps(SessionStore().decode(ARGS['ours'])))
`,
      { ours },
    )
    expect(decoded).toEqual(big)
  })

  it('reads data signed with a SECRET_KEY_FALLBACKS key', () => {
    const old = encodeSessionData(DATA, { key: 'old-key', fallbackKeys: [] })
    expect(decodeSessionData(old, { key: 'new-key', fallbackKeys: ['old-key'] })).toMatchObject({
      ok: true,
      data: DATA,
    })
    expect(decodeSessionData(old, { key: 'new-key', fallbackKeys: [] }).ok).toBe(false)
  })

  it.each([
    ['a tampered payload', (v: string) => `x${v}`],
    ['a tampered signature', (v: string) => `${v.slice(0, -2)}AA`],
    ['another key', () => encodeSessionData(DATA, { key: 'other', fallbackKeys: [] })],
    ['plain text', () => 'not session data at all'],
    ['empty', () => ''],
    ['legacy form with a bad hash', () => Buffer.from('0000:{"a":1}').toString('base64')],
    ['legacy form without a colon', () => Buffer.from('nocolon').toString('base64')],
  ])('%s is unreadable, with the reason', (_name, make) => {
    const decoded = decodeSessionData(make(encodeSessionData(DATA, keys)), keys)
    expect(decoded.ok).toBe(false)
    if (!decoded.ok) expect(decoded.reason).toMatch(/neither format|unreadable/)
  })

  it('refuses signed data that is not a JSON object (Django would fail on it)', () => {
    for (const value of [[1, 2], 'text', 3, null]) {
      const signed = encodeSessionData(value as never, keys)
      expect(decodeSessionData(signed, keys).ok).toBe(false)
    }
  })
})
