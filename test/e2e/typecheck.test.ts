/**
 * A generated project (plus a startapp app) type-checks against the built framework's
 * declarations, the way `npm run typecheck` does in a project that installed channels-ts, under
 * the template's strict tsconfig; its code needs no `!`, no `as` and no `String(...)` to do so;
 * and the template's consumers are what the compiler checks routes and messages against.
 */
import { spawnSync } from 'node:child_process'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ts from 'typescript'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ensureBuilt, ROOT, runBin } from './helpers.js'

let root: string
beforeAll(() => {
  ensureBuilt()
  root = mkdtempSync(join(tmpdir(), 'channels-e2e-typecheck-'))
}, 120_000)
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Type-check the project as its own `npm run typecheck` would; returns what tsc printed. */
function tsc(project: string): string {
  const run = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', project],
    { encoding: 'utf8' },
  )
  return run.stdout + run.stderr + (run.status === 0 ? '' : `exit ${run.status}`)
}

/** `file:line: text` for each `!`, `as` (other than `as const`), `<T>x` and `String(...)`. */
function casts(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    const isConst = (type: ts.TypeNode) =>
      ts.isTypeReferenceNode(type) && type.typeName.getText(source) === 'const'
    const cast =
      ts.isNonNullExpression(node) ||
      ts.isTypeAssertionExpression(node) ||
      (ts.isAsExpression(node) && !isConst(node.type)) ||
      (ts.isCallExpression(node) && node.expression.getText(source) === 'String')
    if (cast) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source))
      found.push(`${file}:${line + 1}: ${node.getText(source)}`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

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
  expect(tsc(project)).toBe('')

  const files = [
    'settings.ts',
    ...['mysite', 'chat', 'polls'].flatMap((dir) =>
      readdirSync(join(project, dir)).map((name) => join(dir, name)),
    ),
  ].filter((file) => file.endsWith('.ts'))
  expect(files).toContain(join('chat', 'consumers.ts'))
  expect(files.flatMap((file) => casts(join(project, file)))).toEqual([])
})

it("checks routes and group messages against the template's consumers", () => {
  const project = join(root, 'mysite')
  // Each marked line must be an error, or tsc reports the unused @ts-expect-error.
  writeFileSync(
    join(project, 'chat/probe.ts'),
    `import { path, rePath, URLRouter } from 'channels-ts'
import { ChatConsumer, HistoryConsumer } from './consumers.js'

export const routes = new URLRouter([
  rePath('^ws/chat/(?<room_name>\\w{1,94})/$', ChatConsumer.asAsgi()),
  // @ts-expect-error a misspelled kwarg
  rePath('^ws/chat/(?<roomname>\\w{1,94})/$', ChatConsumer.asAsgi()),
  // @ts-expect-error an int where the consumer reads a string
  path('chat/<int:room_name>/history/', HistoryConsumer.asAsgi()),
])

export class Probe extends ChatConsumer {
  async probe(): Promise<void> {
    await this.channelLayer.groupSend('chat_x', { type: 'chat.message', message: 'hi', user: null })
    // @ts-expect-error a chat.message without the user its handler reads
    await this.channelLayer.groupSend('chat_x', { type: 'chat.message', message: 'hi' })
    // @ts-expect-error a type ChatConsumer has no handler for
    await this.channelLayer.groupSend('chat_x', { type: 'chat.mesage', message: 'hi', user: null })
  }
}

class Misnamed extends ChatConsumer {
  async chat_mesage(): Promise<void> {}
}
// @ts-expect-error a handler named for no declared type
export const misnamed = Misnamed.asAsgi()
`,
  )
  try {
    expect(tsc(project)).toBe('')
  } finally {
    rmSync(join(project, 'chat/probe.ts'))
  }
})
