#!/usr/bin/env node
// The `channels` command: everything lives in src/cli; this shim runs it and ends the process.
import { exitAfterFlush } from '../src/cli/exit.js'
import { runSupervised, wantsSupervisor } from '../src/cli/reload/supervisor.js'

const argv = process.argv.slice(2)
// runserver runs as the child of a small watchdog process; the CLI is loaded only in the child.
const code = wantsSupervisor(argv, process.env)
  ? await runSupervised(argv)
  : await (await import('../src/cli/index.js')).main(argv)
await exitAfterFlush(code)
