#!/usr/bin/env node
// The `channels` command: everything lives in src/cli; this shim runs it and ends the process.
import { exitAfterFlush } from '../src/cli/exit.js'
import { main } from '../src/cli/index.js'

await exitAfterFlush(await main(process.argv.slice(2)))
