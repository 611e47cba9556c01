/**
 * One esbuild incremental context per entry module (settings, the ASGI application): user code
 * and everything it imports from the project is bundled to one CommonJS text with an inline source
 * map; npm packages stay external (loaded once by Node and shared by every generation).
 * @module
 */
import { basename, extname, join, resolve } from 'node:path'
import * as esbuild from 'esbuild'
import { frameworkPlugin } from './framework-plugin.js'

/** Where evaluate.ts hands a bundle its timers and `import.meta.hot` (scope.ts). */
const GENERATION_NAME = 'channels-ts.generation'
export const GENERATION_KEY = Symbol.for(GENERATION_NAME)

/** The bundle-level binding user code's timers and `import.meta.hot` are rewritten to. */
const BINDING = '__channels_generation__'
const TIMERS = [
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
]

/**
 * Free references to the timer globals (and `globalThis.<timer>`) and `import.meta.hot` become
 * properties of the generation's bindings; a local variable of the same name is left alone.
 */
function generationDefines(): Record<string, string> {
  const define: Record<string, string> = { 'import.meta.hot': `${BINDING}.hot` }
  for (const name of TIMERS) {
    define[name] = `${BINDING}.${name}`
    define[`globalThis.${name}`] = `${BINDING}.${name}`
  }
  return define
}

/** A successful build: the bundle text, the name it should be evaluated under, its inputs. */
export interface BuildSuccess {
  ok: true
  code: string
  filename: string
  /** Absolute paths of every project file the bundle contains. */
  inputs: string[]
}

/** A failed build: esbuild's formatted messages (code frames included) and the files they name. */
export interface BuildFailure {
  ok: false
  message: string
  files: string[]
}

export type BuildResult = BuildSuccess | BuildFailure

/** Rebuilds one entry incrementally. */
export interface Bundler {
  readonly entry: string
  build(): Promise<BuildResult>
  dispose(): Promise<void>
}

/** Options for {@link createBundler}. */
export interface BundlerOptions {
  /** The project folder: esbuild's working directory and the base of `inputs`. */
  projectDir: string
  /** Where the bundle is (virtually) placed; `<project>/.channels` by default. Nothing is written. */
  cacheDir?: string
  /** Colour esbuild's error messages. */
  color?: boolean
}

/** Create an incremental esbuild context for `entry` (absolute or relative to the project). */
export async function createBundler(entry: string, options: BundlerOptions): Promise<Bundler> {
  const projectDir = resolve(options.projectDir)
  const entryPath = resolve(projectDir, entry)
  const cacheDir = options.cacheDir ?? join(projectDir, '.channels')
  // Placing the bundle inside the project makes `require` of packages search the project's
  // node_modules, and makes source-map paths point back at the real files.
  const filename = join(cacheDir, `${basename(entryPath, extname(entryPath))}.cjs`)
  let disposed: Promise<void> | undefined
  const context = await esbuild.context({
    entryPoints: [entryPath],
    absWorkingDir: projectDir,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    keepNames: true,
    write: false,
    metafile: true,
    outfile: filename,
    logLevel: 'silent',
    plugins: [frameworkPlugin()],
    // The banner runs first in the CommonJS wrapper, where `module` is the bundle's own module.
    banner: { js: `var ${BINDING} = module[Symbol.for('${GENERATION_NAME}')];` },
    define: generationDefines(),
  })
  const color = options.color ?? false

  return {
    entry: entryPath,
    async build(): Promise<BuildResult> {
      try {
        const result = await context.rebuild()
        const output = result.outputFiles.find((file) => file.path.endsWith('.cjs'))
        if (!output)
          return { ok: false, message: `esbuild produced no output for ${entryPath}`, files: [] }
        const inputs = Object.keys(result.metafile.inputs).map((input) =>
          resolve(projectDir, input),
        )
        return { ok: true, code: output.text, filename, inputs }
      } catch (error) {
        return failure(error, projectDir, color)
      }
    },
    dispose() {
      // Idempotent: serve disposes right after loading, and again on the way out.
      disposed ??= context.dispose()
      return disposed
    },
  }
}

async function failure(error: unknown, projectDir: string, color: boolean): Promise<BuildFailure> {
  const errors = (error as { errors?: esbuild.Message[] }).errors
  if (!Array.isArray(errors) || errors.length === 0) {
    return { ok: false, message: error instanceof Error ? error.message : String(error), files: [] }
  }
  const formatted = await esbuild.formatMessages(errors, { kind: 'error', color })
  const files = errors.flatMap((e) => (e.location ? [resolve(projectDir, e.location.file)] : []))
  return { ok: false, message: formatted.join('').trimEnd(), files }
}
