/** Colour decisions, Django's palette for runserver lines, banner dates, listen-error messages. */
import { describe, expect, it } from 'vitest'
import { formatBannerDate, bannerLines } from '../../src/cli/banner.js'
import { createPaint, wantsColor } from '../../src/cli/io.js'
import { describeListenError, describeServeListenError } from '../../src/cli/listen-errors.js'
import { asctime } from '../../src/cli/log-handler.js'

describe('colour', () => {
  it('on a TTY, or with FORCE_COLOR; never with NO_COLOR unless forced', () => {
    expect(wantsColor({}, true)).toBe(true)
    expect(wantsColor({}, false)).toBe(false)
    expect(wantsColor({ FORCE_COLOR: '1' }, false)).toBe(true)
    expect(wantsColor({ FORCE_COLOR: '0' }, true)).toBe(false)
    expect(wantsColor({ FORCE_COLOR: '' }, false)).toBe(false)
    expect(wantsColor({ NO_COLOR: '1' }, true)).toBe(false)
    expect(wantsColor({ NO_COLOR: '1', FORCE_COLOR: '1' }, false)).toBe(true)
  })

  it("paints runserver roles with Django's dark palette, or not at all", () => {
    const on = createPaint(true)
    expect(on.style('notFound', 'x')).toBe('\x1b[33mx\x1b[39m')
    expect(on.style('redirect', 'x')).toBe('\x1b[32mx\x1b[39m')
    expect(on.style('notModified', 'x')).toBe('\x1b[36mx\x1b[39m')
    expect(on.style('success', 'x')).toBe('x')
    expect(on.style(null, 'x')).toBe('x')
    expect(on.style('serverError', 'x')).toContain('\x1b[35m')
    expect(on.style('serverError', 'x')).toContain('\x1b[1m')
    expect(on.style('badRequest', 'x')).toContain('\x1b[31m')
    const off = createPaint(false)
    expect(off.style('notFound', 'x')).toBe('x')
    expect(off.red('x')).toBe('x')
  })
})

describe('banner', () => {
  it('formats the date like strftime("%B %d, %Y - %X")', () => {
    expect(formatBannerDate(new Date(2026, 0, 5, 7, 8, 9))).toBe('January 05, 2026 - 07:08:09')
    expect(formatBannerDate(new Date(2026, 10, 26, 6, 33, 49))).toBe('November 26, 2026 - 06:33:49')
  })

  it('adds the reactor warning when auto fell back, and says CTRL-BREAK on Windows', () => {
    const lines = bannerLines({
      date: new Date(2026, 10, 26),
      version: '1.2.3',
      settings: 'settings.ts',
      url: 'http://127.0.0.1:8000/',
      engine: 'node:http + ws',
      warning: 'uWebSockets.js failed to load; using the node reactor',
      platform: 'win32',
    })
    expect(lines).toContain('Quit the server with CTRL-BREAK.')
    expect(lines).toContain('Reactor: node:http + ws')
    expect(lines.at(-1)).toBe('WARNING: uWebSockets.js failed to load; using the node reactor')
  })

  it("Python logging's asctime", () => {
    expect(asctime(new Date(2026, 10, 26, 12, 31, 4, 105))).toBe('2026-11-26 12:31:04,105')
  })
})

describe('listen errors', () => {
  const withCode = (code: string, message = `listen ${code}`) =>
    Object.assign(new Error(message), { code })
  it.each([
    ['EADDRINUSE', 'Error: That port is already in use.'],
    ['EACCES', "Error: You don't have permission to access that port."],
    ['EADDRNOTAVAIL', "Error: That IP address can't be assigned to."],
  ])('%s → %s', (code, first) => {
    expect(describeListenError(withCode(code)).split('\n')[0]).toBe(first)
    // Also when wrapped by the server ("Listen failure: …", cause = the system error).
    const wrapped = new Error(`Listen failure: listen ${code}`, { cause: withCode(code) })
    expect(describeListenError(wrapped)).toBe(`${first}\nListen failure: listen ${code}`)
  })

  it("serve's wording: Django's line for a busy port, then one Daphne `Listen failure:`", () => {
    const busy = new Error('Listen failure: tcp:8000 in use', { cause: withCode('EADDRINUSE') })
    expect(describeServeListenError(busy)).toBe(
      'Error: That port is already in use.\nListen failure: tcp:8000 in use',
    )
    const unix = new Error('Listen failure: Cannot listen on unix:/x/s.sock: no such directory /x')
    expect(describeServeListenError(unix)).toBe(unix.message)
    expect(describeServeListenError(new Error('no TLS'))).toBe('Listen failure: no TLS')
  })

  it('recognises the message without a code, and passes anything else through', () => {
    expect(describeListenError(new Error('Address already in use'))).toMatch(
      /^Error: That port is already in use\./,
    )
    expect(describeListenError(new Error('Unsupported endpoint'))).toBe(
      'Error: Unsupported endpoint',
    )
  })
})
