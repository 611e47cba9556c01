/**
 * The three servers the benchmark compares, each started under the given Node flags: the
 * shipped example project under `channels serve` (the real server, middleware and consumers),
 * raw uWebSockets.js and `ws` with the same endpoints. A fourth, `channels-ts-dashboard`, is
 * the first with the dashboard enabled and nobody watching (`--servers
 * channels-ts,channels-ts-dashboard`): what an idle dashboard costs.
 * @module
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SUBJECT } from './report.js'
import type { ServerSpec } from './ws-phases.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DIST = join(ROOT, 'dist')

/** `--node-options` text as flags (split on whitespace; '' for Node's defaults). */
export function parseNodeFlags(text: string): string[] {
  return text.split(/\s+/).filter((flag) => flag !== '')
}

/** Server name → how to start it, every one with `nodeFlags` before its script. */
export function serverSpecs(nodeFlags: readonly string[]): Record<string, ServerSpec> {
  const node = (script: string, ...args: string[]): string[] => [
    process.execPath,
    ...nodeFlags,
    script,
    ...args,
  ]
  const serve = (port: number, ...extra: string[]) =>
    node(
      join(DIST, 'bin/channels.js'),
      'serve',
      '-b',
      '127.0.0.1',
      '-p',
      String(port),
      '-v',
      '0',
      ...extra,
    )
  return {
    [SUBJECT]: {
      name: SUBJECT,
      cwd: join(ROOT, 'example'),
      // The real server and consumers: the example project's ASGI_APPLICATION under `channels serve`.
      command: (port) => serve(port),
    },
    [`${SUBJECT}-dashboard`]: {
      name: `${SUBJECT}-dashboard`,
      cwd: join(ROOT, 'example'),
      command: (port) => serve(port, '--dashboard'),
      env: { CHANNELS_DASHBOARD_TOKEN: 'bench-dashboard-token' },
    },
    uws: {
      name: 'uws',
      cwd: ROOT,
      command: (port) => node(join(DIST, 'bench/servers/raw-uws.js'), String(port)),
    },
    ws: {
      name: 'ws',
      cwd: ROOT,
      command: (port) => node(join(DIST, 'bench/servers/raw-ws.js'), String(port)),
    },
  }
}
