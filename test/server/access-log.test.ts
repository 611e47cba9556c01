import { describe, expect, it } from 'vitest'
import {
  formatAccessLog,
  formatLogDate,
  formatRunserverLine,
  type AccessEvent,
} from '../../src/server/access-log.js'

const time = new Date(2026, 10, 26, 12, 31, 19)

function http(status: number, extra: Partial<AccessEvent> = {}): AccessEvent {
  return {
    protocol: 'http',
    action: 'complete',
    method: 'GET',
    path: '/nf',
    client: '127.0.0.1:49698',
    status,
    size: 0,
    durationMs: 3,
    time,
    ...extra,
  }
}

describe('formatAccessLog (Daphne AccessLogGenerator)', () => {
  it('formats an HTTP request with the raw target and body length', () => {
    const event = http(200, {
      method: 'POST',
      path: '/scope/post',
      rawPath: '/scope/post',
      size: 526,
      client: '127.0.0.1:49418',
    })
    expect(formatAccessLog(event)).toBe(
      '127.0.0.1:49418 - - [26/Nov/2026:12:31:19] "POST /scope/post" 200 526',
    )
  })

  it('prints - for an empty body and includes the query string', () => {
    const event = http(204, {
      path: '/a b',
      rawPath: '/a%20b',
      query: 'x=1',
      client: '127.0.0.1:49484',
    })
    expect(formatAccessLog(event)).toBe(
      '127.0.0.1:49484 - - [26/Nov/2026:12:31:19] "GET /a%20b?x=1" 204 -',
    )
  })

  it('prints None for an unknown client', () => {
    expect(formatAccessLog(http(400, { client: null, size: 10 }))).toBe(
      'None - - [26/Nov/2026:12:31:19] "GET /nf" 400 10',
    )
  })

  it.each([
    ['connecting', 'WSCONNECTING'],
    ['connected', 'WSCONNECT'],
    ['rejected', 'WSREJECT'],
    ['disconnected', 'WSDISCONNECT'],
  ] as const)('formats WebSocket %s as %s', (action, verb) => {
    const event: AccessEvent = {
      protocol: 'websocket',
      action,
      path: '/ws/x y',
      rawPath: '/ws/x%20y',
      client: '127.0.0.1:1',
      time,
    }
    expect(formatAccessLog(event)).toBe(
      `127.0.0.1:1 - - [26/Nov/2026:12:31:19] "${verb} /ws/x%20y" - -`,
    )
  })

  it('pads the date fields', () => {
    expect(formatLogDate(new Date(2026, 0, 5, 3, 4, 5))).toBe('05/Jan/2026:03:04:05')
  })
})

describe('formatRunserverLine (daphne runserver log_action)', () => {
  it('formats an HTTP line with seconds to two decimals', () => {
    expect(formatRunserverLine(http(404, { durationMs: 4 }))).toEqual({
      message: 'HTTP GET /nf 404 [0.00, 127.0.0.1:49698]',
      level: 'warn',
      style: 'notFound',
    })
    expect(formatRunserverLine(http(200, { durationMs: 1234, query: 'a=1' })).message).toBe(
      'HTTP GET /nf?a=1 200 [1.23, 127.0.0.1:49698]',
    )
  })

  it.each([
    [200, 'info', 'success'],
    [101, 'info', 'info'],
    [304, 'info', 'notModified'],
    [302, 'info', 'redirect'],
    [404, 'warn', 'notFound'],
    [403, 'warn', 'badRequest'],
    [500, 'error', 'serverError'],
  ] as const)('status %i → %s/%s', (status, level, style) => {
    expect(formatRunserverLine(http(status))).toMatchObject({ level, style })
  })

  it.each([
    ['connecting', 'HANDSHAKING'],
    ['connected', 'CONNECT'],
    ['rejected', 'REJECT'],
    ['disconnected', 'DISCONNECT'],
  ] as const)('formats WebSocket %s', (action, verb) => {
    const event: AccessEvent = {
      protocol: 'websocket',
      action,
      path: '/ws/x',
      client: '127.0.0.1:49726',
      time,
    }
    expect(formatRunserverLine(event)).toEqual({
      message: `WebSocket ${verb} /ws/x [127.0.0.1:49726]`,
      level: 'info',
      style: null,
    })
  })
})
