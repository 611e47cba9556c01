/**
 * The garbage collector's share of the handshake wave, on the real server: starts one of the
 * benchmark's servers (default: the example project under `channels serve`) pinned to core 0
 * with V8's `--trace-gc-nvp`, warms it with an echo run, opens N idle connections from core 1
 * as `npm run bench` does, and sums V8's own records of the GCs during the wave: pause time,
 * bytes allocated, bytes that survived a scavenge and bytes promoted to old space, per handshake.
 *
 *   node dist/bench/micro/gc-wave.js [--server channels-ts|uws|ws] [-n 10000]
 *     [--node-options '--max-semi-space-size=2']
 *
 * A scavenge copies every young object still alive, twice for one that lives on (once within the
 * young generation, once into old space), so what a connection keeps is paid for here, in the
 * handshakes after it. The pause is main-thread time; parallel helpers add to the CPU the
 * benchmark reads.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { canPin, spawnPinned, waitForHttp } from '../proc.js'
import { SUBJECT } from '../report.js'
import { parseNodeFlags, serverSpecs } from '../server-specs.js'
import { runLoadgen } from '../ws-phases.js'

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: SUBJECT },
    n: { type: 'string', short: 'n', default: '10000' },
    port: { type: 'string', default: '18760' },
    'node-options': { type: 'string', default: '--max-semi-space-size=2' },
  },
})

const N = Number(values.n)
const PORT = Number(values.port)

/** One `--trace-gc-nvp` line: `gc=s` (scavenge) or `gc=mc`/`gc=ms` (mark-compact), key=value pairs. */
interface GcRecord {
  kind: string
  fields: Map<string, number>
}

function parseNvp(line: string): GcRecord | null {
  if (!line.includes(' gc=')) return null
  const fields = new Map<string, number>()
  let kind = ''
  for (const part of line
    .slice(line.indexOf('ms:') + 3)
    .trim()
    .split(/\s+/)) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    const key = part.slice(0, eq)
    const value = part.slice(eq + 1)
    if (key === 'gc') kind = value
    else if (Number.isFinite(Number(value))) fields.set(key, Number(value))
  }
  return { kind, fields }
}

async function main(): Promise<void> {
  const spec = serverSpecs([...parseNodeFlags(values['node-options']), '--trace-gc-nvp'])[
    values.server
  ]
  if (spec === undefined)
    throw new Error(`unknown server ${values.server} (channels-ts, uws or ws)`)
  const server = spawnPinned(canPin() ? 0 : null, spec.command(PORT), { cwd: spec.cwd })
  const lines: string[] = []
  createInterface({ input: server.stdout! }).on('line', (line) => lines.push(line))
  server.stderr!.resume()
  try {
    const base = `127.0.0.1:${PORT}`
    await waitForHttp(`http://${base}/`, 20_000)
    const origin = ['--origin', `http://${base}`]
    await runLoadgen(canPin(), [
      ...origin,
      'echo',
      '--url',
      `ws://${base}/ws/echo/`,
      '-c',
      '50',
      '-d',
      '2000',
    ])
    await new Promise((r) => setTimeout(r, 300))
    const from = lines.length
    const wave = await runLoadgen(canPin(), [
      ...origin,
      'conn',
      '--url',
      `ws://${base}/ws/echo/`,
      '-n',
      String(N),
      '-k',
      '64',
      '--hold',
      '0',
    ])
    await new Promise((r) => setTimeout(r, 100))
    const opened = Number(wave.opened)
    const sums = new Map<string, number>()
    const counts = new Map<string, number>()
    for (const line of lines.slice(from)) {
      const record = parseNvp(line)
      if (record === null) continue
      const kind = record.kind === 's' ? 'scavenge' : 'mark-compact'
      counts.set(kind, (counts.get(kind) ?? 0) + 1)
      for (const key of ['pause', 'allocated', 'new_space_survived', 'promoted']) {
        const name = `${kind} ${key}`
        sums.set(name, (sums.get(name) ?? 0) + (record.fields.get(key) ?? 0))
      }
    }
    const per = (name: string) => (sums.get(name) ?? 0) / opened
    console.log(`${spec.name}: ${opened} connections opened`)
    console.log(
      `  scavenges      ${counts.get('scavenge') ?? 0}, pause ${(per('scavenge pause') * 1000).toFixed(2)} µs per handshake`,
    )
    console.log(
      `  mark-compacts  ${counts.get('mark-compact') ?? 0}, pause ${(per('mark-compact pause') * 1000).toFixed(2)} µs per handshake`,
    )
    console.log(
      `  allocated      ${(per('scavenge allocated') / 1024).toFixed(2)} KiB per handshake (young generation)`,
    )
    console.log(
      `  survived       ${(per('scavenge new_space_survived') / 1024).toFixed(2)} KiB per handshake (copied within the young generation)`,
    )
    console.log(
      `  promoted       ${(per('scavenge promoted') / 1024).toFixed(2)} KiB per handshake (copied into old space)`,
    )
  } finally {
    server.kill('SIGTERM')
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
