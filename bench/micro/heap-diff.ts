/**
 * What N connections added to the heap, by V8 object type and constructor name: compares two
 * heap snapshots (e.g. from `server-idle.js --snapshot PREFIX`) and prints bytes and objects per
 * connection, largest first.
 *
 *   node dist/bench/micro/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot N [top=40]
 */
import { readFileSync } from 'node:fs'

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

/** (type + name) → [count, self bytes]. Strings and code are grouped by type only. */
function load(file: string): Map<string, [number, number]> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot
  const { node_fields: fields, node_types: nodeTypes } = snap.snapshot.meta
  const types = nodeTypes[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const out = new Map<string, [number, number]>()
  const nodes = snap.nodes
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt] as number] as string
    let name = snap.strings[nodes[i + nameAt] as number] as string
    if (type.endsWith('string') || type === 'code') name = ''
    const key = `${type} ${name.slice(0, 60)}`
    const entry = out.get(key) ?? [0, 0]
    entry[0]++
    entry[1] += nodes[i + sizeAt] as number
    out.set(key, entry)
  }
  return out
}

const [beforeFile, afterFile, count, top] = process.argv.slice(2)
if (beforeFile === undefined || afterFile === undefined || count === undefined) {
  console.error('usage: heap-diff BEFORE.heapsnapshot AFTER.heapsnapshot N [top]')
  process.exit(2)
}
const n = Number(count)
const before = load(beforeFile)
const rows: [string, number, number][] = []
for (const [key, [objects, bytes]] of load(afterFile)) {
  const [oldObjects, oldBytes] = before.get(key) ?? [0, 0]
  if (bytes !== oldBytes) rows.push([key, (objects - oldObjects) / n, (bytes - oldBytes) / n])
}
rows.sort((a, b) => b[2] - a[2])
console.log(`total ${rows.reduce((sum, row) => sum + row[2], 0).toFixed(0)} B per connection`)
console.log('   bytes objects  type name')
for (const [key, objects, bytes] of rows.slice(0, Number(top ?? 40))) {
  console.log(`${bytes.toFixed(1).padStart(8)} ${objects.toFixed(2).padStart(7)}  ${key}`)
}
