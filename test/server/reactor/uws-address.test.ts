import { describe, expect, it } from 'vitest'
import { formatAddress } from '../../../src/server/reactor/uws-request.js'

/** The 16 bytes of an IPv6 address written in full (eight groups). */
function bytes(full: string): Uint8Array {
  return Uint8Array.from(Buffer.from(full.replaceAll(':', ''), 'hex'))
}

describe('formatAddress (uWS binary peer address → text)', () => {
  it('prints IPv4 dotted', () => {
    expect(formatAddress(new Uint8Array([127, 0, 0, 1]))).toBe('127.0.0.1')
  })

  it('prints IPv4-mapped IPv6 as plain IPv4', () => {
    expect(formatAddress(bytes('0000:0000:0000:0000:0000:ffff:7f00:0001'))).toBe('127.0.0.1')
  })

  const cases = [
    '0000:0000:0000:0000:0000:0000:0000:0001',
    '0000:0000:0000:0000:0000:0000:0000:0000',
    '2001:0db8:0000:0000:0000:0000:0000:0001',
    '2001:0db8:0000:0001:0001:0001:0001:0001',
    '2001:0000:0000:0001:0000:0000:0000:0001',
    '2001:0db8:0000:0000:0001:0000:0000:0001',
    'fe80:0000:0000:0000:0202:b3ff:fe1e:8329',
    '0001:0000:0000:0000:0000:0000:0000:0000',
  ]
  for (const full of cases) {
    it(`compresses ${full} like RFC 5952 (WHATWG URL as the oracle)`, () => {
      expect(formatAddress(bytes(full))).toBe(new URL(`http://[${full}]/`).hostname.slice(1, -1))
    })
  }

  it('gives an empty string for an unexpected length', () => {
    expect(formatAddress(new Uint8Array(3))).toBe('')
  })
})
