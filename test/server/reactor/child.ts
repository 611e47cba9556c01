/**
 * Run reactor code in a child process: bundle a TypeScript snippet with esbuild (next to
 * node_modules, so `ws` and uWebSockets.js resolve as in the suite) and spawn node on it.
 * @module
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

/** Bundle `source` (may import `src/...` by absolute path) to an .mjs; `cleanup` removes it. */
export async function bundleChild(source: string): Promise<{ file: string; cleanup: () => void }> {
  const dir = fs.mkdtempSync(path.join(ROOT, 'node_modules', '.reactor-child-'))
  const file = path.join(dir, 'child.mjs')
  await build({
    stdin: { contents: source, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    outfile: file,
    logLevel: 'silent',
  })
  return { file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/** An absolute import specifier for a file under the repository. */
export function srcPath(relative: string): string {
  return JSON.stringify(path.join(ROOT, relative))
}
