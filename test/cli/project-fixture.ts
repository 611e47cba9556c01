/** Temporary projects for CLI tests: a settings module, a routing module, static files. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

export interface Fixture {
  dir: string
  write(file: string, content: string): void
  cleanup(): void
}

/** A project whose app answers every HTTP request with `app:<path>` (no framework imports). */
export function createFixture(
  settings: Record<string, unknown> = {},
  extraFiles: Record<string, string> = {},
): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'channels-cli-'))
  const write = (file: string, content: string) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    writeFileSync(join(dir, file), content)
  }
  write(
    'settings.ts',
    `export default ${JSON.stringify({ DEBUG: true, ASGI_APPLICATION: 'mysite.routing.application', STATICFILES_DIRS: ['static'], ...settings }, null, 2)}\n`,
  )
  write(
    'mysite/routing.ts',
    [
      "import type {} from 'node:fs'",
      'export const application = async (scope: { type: string; path: string }, _receive: unknown, send: (e: unknown) => Promise<void>) => {',
      "  if (scope.type !== 'http') return",
      "  await send({ type: 'http.response.start', status: 200, headers: [] })",
      "  await send({ type: 'http.response.body', body: Buffer.from('app:' + scope.path) })",
      '}',
      '',
    ].join('\n'),
  )
  write('static/hello.txt', 'hello static\n')
  for (const [file, content] of Object.entries(extraFiles)) write(file, content)
  return { dir, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
