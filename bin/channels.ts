#!/usr/bin/env node
// The `channels` command: everything lives in src/cli; this shim only sets the exit code.
import { main } from '../src/cli/index.js'

process.exitCode = await main(process.argv.slice(2))
