#!/usr/bin/env node
// Placeholder shim until src/cli lands (issue 5): prints the version.
import { readFileSync } from 'node:fs'
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
console.log(pkg.version)
