/**
 * A generated project (plus a startapp app) type-checks against the built framework's
 * declarations, the way `npm run typecheck` does in a project that installed channels-ts.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ensureBuilt, ROOT, runBin } from './helpers.js'

let root: string
beforeAll(() => {
  ensureBuilt()
  root = mkdtempSync(join(tmpdir(), 'channels-e2e-typecheck-'))
}, 120_000)
afterAll(() => rmSync(root, { recursive: true, force: true }))

it('startproject + startapp output passes tsc --noEmit (strict, NodeNext)', () => {
  const project = join(root, 'mysite')
  expect(runBin(['startproject', 'mysite'], root).status).toBe(0)
  expect(runBin(['startapp', 'polls'], project).status).toBe(0)
  // What `npm install` would link: the framework and Node's types.
  mkdirSync(join(project, 'node_modules/@types'), { recursive: true })
  symlinkSync(ROOT, join(project, 'node_modules/channels-ts'), 'dir')
  symlinkSync(
    join(ROOT, 'node_modules/@types/node'),
    join(project, 'node_modules/@types/node'),
    'dir',
  )
  const tsconfig = JSON.parse(readFileSync(join(project, 'tsconfig.json'), 'utf8')) as {
    include: string[]
  }
  tsconfig.include.push('polls')
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig))
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', project],
    {
      encoding: 'utf8',
    },
  )
  expect(tsc.stdout + tsc.stderr).toBe('')
  expect(tsc.status).toBe(0)
})
