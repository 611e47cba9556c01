/**
 * Where the running framework package lives and which version it is. Used for `--version`, the
 * runserver banner, the `file:` dependency that startproject writes, and to point user bundles at
 * this very copy of the framework.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The npm name of the framework package. */
export const PACKAGE_NAME = 'channels-ts'

let cachedRoot: string | undefined

/** The framework's package root (the folder holding its package.json), found from this file. */
export function frameworkRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }
      if (pkg.name === PACKAGE_NAME) return (cachedRoot = dir)
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`Cannot find the ${PACKAGE_NAME} package root`)
    dir = parent
  }
}

/** The framework's version from its package.json. */
export function frameworkVersion(): string {
  const pkg = JSON.parse(readFileSync(join(frameworkRoot(), 'package.json'), 'utf8')) as {
    version: string
  }
  return pkg.version
}
