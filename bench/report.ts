/**
 * Turning benchmark figures into the three outputs: a terminal table, a JSON file and an SVG
 * chart of channels-ts relative to raw uWebSockets.js and ws.
 */

/** One row of the report: a figure per server, and the target for channels-ts. */
export interface ReportRow {
  key: string
  label: string
  unit: string
  values: Record<string, number>
  /**
   * channels-ts must be at most `maxRatio` × raw uWS, or at most `maxValue` absolutely; neither
   * (and no `extra`): a row for information, with no target.
   */
  target: { maxRatio?: number; maxValue?: number; text: string }
  /** Extra condition, e.g. "none lost". */
  extra?: { ok: boolean; text: string }
  /**
   * channels-ts ÷ raw uWS within each run, in run order (rows with a ratio target): the spread
   * shows how much of a verdict is the machine's noise.
   */
  perRunRatios?: number[]
}

export const SUBJECT = 'channels-ts'
export const BASELINES = ['uws', 'ws'] as const

const fmt = (n: number | undefined, digits = 2): string =>
  n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits)

/** Ratio of channels-ts to a baseline, NaN when either is missing. */
export function ratio(row: ReportRow, baseline: string): number {
  const a = row.values[SUBJECT]
  const b = row.values[baseline]
  return a !== undefined && b !== undefined && b > 0 ? a / b : Number.NaN
}

/** channels-ts ÷ `baseline` within each run, from per-run figures (NaN where one is missing). */
export function perRunRatios(subject: readonly number[], baseline: readonly number[]): number[] {
  return subject.map((value, i) => {
    const base = baseline[i]
    return base !== undefined && base > 0 ? value / base : Number.NaN
  })
}

/** `min–max` of the finite per-run ratios (e.g. `1.32–1.95`), or '' with fewer than two runs. */
export function ratioRange(ratios: readonly number[] | undefined): string {
  const finite = (ratios ?? []).filter((r) => Number.isFinite(r))
  if (finite.length < 2) return ''
  return `${fmt(Math.min(...finite))}–${fmt(Math.max(...finite))}`
}

/** Whether channels-ts meets the row's target (null when there is nothing to compare). */
export function targetMet(row: ReportRow): boolean | null {
  const value = row.values[SUBJECT]
  if (value === undefined || !Number.isFinite(value)) return null
  // A row shown for information only.
  if (row.target.maxRatio === undefined && row.target.maxValue === undefined && !row.extra)
    return null
  let ok = true
  if (row.target.maxRatio !== undefined) {
    const r = ratio(row, 'uws')
    if (!Number.isFinite(r)) return null
    ok &&= r <= row.target.maxRatio
  }
  if (row.target.maxValue !== undefined) ok &&= value <= row.target.maxValue
  if (row.extra) ok &&= row.extra.ok
  return ok
}

/**
 * The terminal table (Markdown, so it pastes into an issue note as is). The ratios are of the
 * medians; `÷ uws per run` is the range of the ratios within single runs.
 */
export function renderTable(rows: ReportRow[], servers: string[]): string {
  const head = ['figure', ...servers, '÷ uws', '÷ uws per run', '÷ ws', 'target', 'met']
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`]
  for (const row of rows) {
    const met = targetMet(row)
    const range = ratioRange(row.perRunRatios)
    lines.push(
      `| ${row.label} (${row.unit}) | ${servers.map((s) => fmt(row.values[s])).join(' | ')} | ${fmt(ratio(row, 'uws'))}× | ${range === '' ? '—' : `${range}×`} | ${fmt(ratio(row, 'ws'))}× | ${row.target.text}${row.extra ? `, ${row.extra.text}` : ''} | ${met === null ? 'n/a' : met ? 'yes' : 'NO'} |`,
    )
  }
  return lines.join('\n')
}

const COLORS: Record<string, string> = { 'channels-ts': '#0c7c59', uws: '#3a6ea5', ws: '#b5651d' }

/** A grouped bar chart: each figure normalised to raw uWS = 1, with the target ratio marked. */
export function renderSvg(rows: ReportRow[], servers: string[], title: string): string {
  const charted = rows.filter((r) => r.values.uws && Number.isFinite(r.values.uws))
  const barH = 16
  const groupH = servers.length * barH + 26
  const absolute = rows.filter((r) => !charted.includes(r) && Number.isFinite(r.values[SUBJECT]))
  const left = 250
  const width = 820
  // Room on the right for the longest bar's label.
  const plotW = width - left - 130
  const height = 70 + charted.length * groupH + 30 + absolute.length * 18
  const maxRatio = Math.max(
    2,
    ...charted.flatMap((r) => servers.map((s) => (r.values[s] ?? 0) / r.values.uws!)),
    ...charted.map((r) => r.target.maxRatio ?? (r.target.maxValue ?? 0) / r.values.uws!),
  )
  const x = (v: number) => left + (Math.min(v, maxRatio) / maxRatio) * plotW
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="16" y="42" fill="#555">Server CPU or memory per unit of work, relative to raw uWebSockets.js (= 1×); lower is better. Dashed: target.</text>`,
  ]
  servers.forEach((s, i) => {
    out.push(
      `<rect x="${left + i * 130}" y="50" width="12" height="12" fill="${COLORS[s] ?? '#888'}"/>`,
      `<text x="${left + i * 130 + 18}" y="60">${escapeXml(s)}</text>`,
    )
  })
  charted.forEach((row, g) => {
    const y0 = 72 + g * groupH
    out.push(`<text x="16" y="${y0 + 14}" font-weight="bold">${escapeXml(row.label)}</text>`)
    out.push(`<text x="16" y="${y0 + 30}" fill="#555">${escapeXml(row.unit)}</text>`)
    servers.forEach((s, i) => {
      const v = row.values[s]
      const r = v === undefined ? Number.NaN : v / row.values.uws!
      const y = y0 + i * barH
      if (Number.isFinite(r)) {
        out.push(
          `<rect x="${left}" y="${y}" width="${Math.max(1, x(r) - left)}" height="${barH - 3}" fill="${COLORS[s] ?? '#888'}"/>`,
          `<text x="${x(r) + 4}" y="${y + 11}">${fmt(v)} (${fmt(r)}×)</text>`,
        )
      }
    })
    // An absolute target (memory ≤ 3 KiB) is drawn where it falls relative to raw uWS.
    const targetRatio =
      row.target.maxRatio ??
      (row.target.maxValue !== undefined ? row.target.maxValue / row.values.uws! : undefined)
    if (targetRatio !== undefined) {
      const tx = x(targetRatio)
      out.push(
        `<line x1="${tx}" y1="${y0 - 2}" x2="${tx}" y2="${y0 + servers.length * barH}" stroke="#c00" stroke-dasharray="4 3"/>`,
      )
    }
  })
  const axisEnd = 72 + charted.length * groupH
  out.push(
    `<line x1="${x(1)}" y1="66" x2="${x(1)}" y2="${axisEnd}" stroke="#999"/>`,
    `<text x="${x(1) - 8}" y="${axisEnd + 14}" fill="#555">1×</text>`,
  )
  // Figures with an absolute target only (reload latency, cold start): one line each.
  absolute.forEach((row, i) => {
    const met = targetMet(row)
    out.push(
      `<text x="16" y="${axisEnd + 36 + i * 18}"><tspan font-weight="bold">${escapeXml(row.label)}</tspan>: ${fmt(row.values[SUBJECT])} ${escapeXml(row.unit)} (target ${escapeXml(row.target.text)}${row.extra ? `, ${escapeXml(row.extra.text)}` : ''}) ${met ? '✓' : '✗'}</text>`,
    )
  })
  out.push('</svg>')
  return out.join('\n')
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!,
  )
}
