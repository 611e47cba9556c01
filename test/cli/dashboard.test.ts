/**
 * The CLI's dashboard wiring: the hosts it answers (Django's ALLOWED_HOSTS rule), where serve's
 * token comes from, the log tee, and a stand-in server that cannot host it.
 */
import { describe, expect, it } from 'vitest'
import type { LogRecord } from '../../src/framework/asgi/logging.js'
import {
  dashboardHosts,
  dashboardToken,
  mountCliDashboard,
  teeLogHandler,
} from '../../src/cli/dashboard.js'
import { CommandError } from '../../src/cli/errors.js'
import type { Inspector } from '../../src/server/index.js'

describe('dashboardHosts', () => {
  it("follows Django's rule: localhost's names in DEBUG with none set, else ALLOWED_HOSTS", () => {
    const debug = dashboardHosts({ DEBUG: true, ALLOWED_HOSTS: [] })!
    expect(['127.0.0.1:8000', 'localhost', 'app.localhost:1', '[::1]:8000'].map(debug)).toEqual([
      true,
      true,
      true,
      true,
    ])
    expect(debug('evil.example:8000')).toBe(false)
    expect(debug('not a host')).toBe(false)
    const listed = dashboardHosts({ ALLOWED_HOSTS: ['.example.com'] })!
    expect([listed('chat.example.com'), listed('127.0.0.1')]).toEqual([true, false])
  })

  it('answers every host when the project has no rule (serve without settings)', () => {
    expect(dashboardHosts({})).toBeUndefined()
    expect(dashboardHosts({ DEBUG: false, ALLOWED_HOSTS: [] })).toBeUndefined()
  })
})

describe('dashboardToken', () => {
  it('takes the environment first, then the setting, trimmed', () => {
    expect(dashboardToken({ CHANNELS_DASHBOARD_TOKEN: ' env ' }, { DASHBOARD_TOKEN: 's' })).toBe(
      'env',
    )
    expect(dashboardToken({ CHANNELS_DASHBOARD_TOKEN: '  ' }, { DASHBOARD_TOKEN: 's' })).toBe('s')
  })

  it('refuses to go on without one', () => {
    expect(() => dashboardToken({}, { DASHBOARD_TOKEN: 42 })).toThrow(CommandError)
    expect(() => dashboardToken({}, {})).toThrow(/needs a token: set CHANNELS_DASHBOARD_TOKEN/)
  })
})

describe('teeLogHandler', () => {
  it('gives each record to the inspector, when there is one, and to the handler', () => {
    const seen: string[] = []
    const holder: { inspector?: Pick<Inspector, 'recordLog'> } = {}
    const tee = teeLogHandler(
      (record) => seen.push(`handler ${record.message}`),
      () => holder.inspector as Inspector | undefined,
    )
    const record: LogRecord = { level: 'warn', logger: 'x', message: 'one' }
    tee(record)
    holder.inspector = { recordLog: (r) => seen.push(`inspector ${r.message}`) }
    tee({ ...record, message: 'two' })
    expect(seen).toEqual(['handler one', 'inspector two', 'handler two'])
  })
})

describe('mountCliDashboard', () => {
  it('leaves a stand-in server without the hooks alone', () => {
    const server = { start: () => Promise.reject(new Error('unused')), stop: async () => {} }
    expect(mountCliDashboard(server, { token: null }, {})).toBeUndefined()
  })
})
