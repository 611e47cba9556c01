/**
 * The benchmark report's arithmetic: ratios of medians, per-run ratios and their range, and the
 * met/missed verdict, on figures given here (nothing is timed).
 */
import { describe, expect, it } from 'vitest'
import {
  perRunRatios,
  ratio,
  ratioRange,
  renderTable,
  targetMet,
  type ReportRow,
} from '../../bench/report.js'

function handshakeRow(values: Record<string, number>, perRun?: number[]): ReportRow {
  return {
    key: 'handshake',
    label: 'handshake',
    unit: 'µs',
    values,
    target: { maxRatio: 1.5, text: '≤ 1.5× uws' },
    ...(perRun === undefined ? {} : { perRunRatios: perRun }),
  }
}

describe('bench report', () => {
  it('pairs each run of channels-ts with the same run of raw uWS', () => {
    expect(perRunRatios([66, 74, 60], [50, 37, 40])).toEqual([1.32, 2, 1.5])
    // A run missing on the baseline side, or a zero baseline, gives NaN rather than Infinity.
    expect(perRunRatios([10, 10], [0])).toEqual([Number.NaN, Number.NaN])
  })

  it('shows the range of the finite per-run ratios, and nothing for a single run', () => {
    expect(ratioRange([1.52, 1.32, Number.NaN, 1.95])).toBe('1.32–1.95')
    expect(ratioRange([1.4])).toBe('')
    expect(ratioRange(undefined)).toBe('')
  })

  it('judges the ratio of the medians against the target', () => {
    expect(ratio(handshakeRow({ 'channels-ts': 75, uws: 50 }), 'uws')).toBe(1.5)
    expect(targetMet(handshakeRow({ 'channels-ts': 75, uws: 50 }))).toBe(true)
    expect(targetMet(handshakeRow({ 'channels-ts': 76, uws: 50 }))).toBe(false)
    expect(targetMet(handshakeRow({ 'channels-ts': 76 }))).toBeNull()
  })

  it('puts the per-run range next to the ratio in the table', () => {
    const rows = [
      handshakeRow({ 'channels-ts': 71.3, uws: 45.4, ws: 83.7 }, [1.32, 1.65, 1.95]),
      handshakeRow({ 'channels-ts': 9, uws: 9, ws: 11 }),
    ]
    const lines = renderTable(rows, ['channels-ts', 'uws', 'ws']).split('\n')
    expect(lines[0]).toBe(
      '| figure | channels-ts | uws | ws | ÷ uws | ÷ uws per run | ÷ ws | target | met |',
    )
    expect(lines[2]).toContain('| 1.57× | 1.32–1.95× | 0.85× |')
    expect(lines[2]).toMatch(/\| NO \|$/)
    expect(lines[3]).toContain('| 1.00× | — | 0.82× |')
  })
})
