// Daphne tests/test_utils.py: TestXForwardedForHttpParsing / TestXForwardedForWsParsing.
import { describe, expect, it } from 'vitest'
import { parseXForwardedFor } from '../../src/server/proxy-headers.js'

const names = ['x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto'] as const

function parse(
  headers: Record<string, string>,
  original: [string, number] | null = null,
  scheme: string | null = null,
) {
  const pairs = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v] as const)
  return parseXForwardedFor(pairs, ...names, original, scheme)
}

describe('parseXForwardedFor', () => {
  it('test_basic', () => {
    const result = parse({
      'X-Forwarded-For': '10.1.2.3',
      'X-Forwarded-Port': '1234',
      'X-Forwarded-Proto': 'https',
    })
    expect(result).toEqual({ client: ['10.1.2.3', 1234], scheme: 'https' })
    expect(typeof result.client?.[0]).toBe('string')
  })

  it('test_address_only', () => {
    expect(parse({ 'X-Forwarded-For': '10.1.2.3' })).toEqual({
      client: ['10.1.2.3', 0],
      scheme: null,
    })
  })

  it('test_v6_address', () => {
    expect(parse({ 'X-Forwarded-For': '1043::a321:0001, 10.0.5.6' }).client).toEqual([
      '1043::a321:0001',
      0,
    ])
  })

  it('test_multiple_proxies', () => {
    expect(parse({ 'X-Forwarded-For': '10.1.2.3, 10.1.2.4' }).client).toEqual(['10.1.2.3', 0])
  })

  it('test_original', () => {
    expect(parse({}, ['127.0.0.1', 80])).toEqual({ client: ['127.0.0.1', 80], scheme: null })
  })

  it('test_no_original', () => {
    expect(parse({})).toEqual({ client: null, scheme: null })
  })

  it('ignores port and proto without the address header (Daphne)', () => {
    expect(
      parse({ 'X-Forwarded-Port': '80', 'X-Forwarded-Proto': 'https' }, ['1.2.3.4', 5], 'http'),
    ).toEqual({
      client: ['1.2.3.4', 5],
      scheme: 'http',
    })
  })

  it('keeps port 0 when the port header is not an integer', () => {
    expect(parse({ 'X-Forwarded-For': '10.1.2.3', 'X-Forwarded-Port': 'eighty' }).client).toEqual([
      '10.1.2.3',
      0,
    ])
  })

  it('uses custom header names (--proxy-headers-host)', () => {
    expect(
      parseXForwardedFor(
        [['x-real-ip', '10.9.9.9']],
        'x-real-ip',
        'x-forwarded-port',
        'x-forwarded-proto',
      ).client,
    ).toEqual(['10.9.9.9', 0])
  })
})
