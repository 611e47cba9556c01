/**
 * An esbuild plugin that points `channels-ts` (and its subpaths) in user code at the copy of the
 * framework the CLI itself runs from. User bundles then share the CLI's module instances, so
 * `instanceof`, the settings and the channel-layer registry are one and the same across
 * generations, whatever the project's node_modules holds.
 * @module
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Plugin } from 'esbuild'
import { PACKAGE_NAME, frameworkRoot } from '../package-info.js'

const SPECIFIER = /^channels-ts(?:\/.*)?$/

/** Resolve `channels-ts[/sub]` through the running package's own `exports` map; keep it external. */
export function frameworkPlugin(root: string = frameworkRoot()): Plugin {
  // Self-reference: a package may require itself by name through its `exports`.
  const requireFromRoot = createRequire(join(root, 'package.json'))
  return {
    name: 'channels-ts-framework',
    setup(build) {
      build.onResolve({ filter: SPECIFIER }, (args) => {
        try {
          return { path: requireFromRoot.resolve(args.path), external: true }
        } catch (error) {
          const message = `Cannot resolve '${args.path}' in ${PACKAGE_NAME} at ${root}`
          return { errors: [{ text: message, detail: error }] }
        }
      })
    },
  }
}
