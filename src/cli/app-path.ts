/**
 * Where an ASGI application lives: Django's dotted `ASGI_APPLICATION` ('mysite.routing.application'
 * → `mysite/routing.(ts|js)`, export `application`, relative to the project folder) or Daphne's
 * `path/to/module.ts:export.path` form. Messages are Django's.
 * @module
 */
import { existsSync, statSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { formatCheckReport, SystemCheckError, type CheckMessage } from './check-report.js'
import { CommandError } from './errors.js'
import type { Application } from '../framework/asgi/types.js'
import { describeValue } from '../util/describe.js'

/** A resolved application reference. */
export interface AppReference {
  /** Absolute path of the module file. */
  file: string
  /** The export (and attribute chain) to read, e.g. `['application']`. */
  attribute: string[]
  /** How error messages name the module (`mysite.routing`). */
  moduleName: string
  /** How error messages name what it is (`ASGI_APPLICATION module`). */
  what: string
}

/** How messages name the module ASGI_APPLICATION points at (`AppReference.what`). */
export const ASGI_APPLICATION_SETTING = 'ASGI_APPLICATION module'

const MODULE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs']

/** Resolve the ASGI_APPLICATION setting. */
export function resolveAsgiApplicationSetting(value: unknown, projectDir: string): AppReference {
  if (value === undefined || value === null || value === '') {
    throw new CommandError('You have not set ASGI_APPLICATION, which is needed to run the server.')
  }
  if (typeof value !== 'string') {
    throw new CommandError(`ASGI_APPLICATION must be a string like 'mysite.routing.application'.`)
  }
  return resolveAppReference(value, projectDir, ASGI_APPLICATION_SETTING)
}

/**
 * Resolve `module:attr.path` (Daphne's positional `application`) or `dotted.module.attr`
 * (Django's ASGI_APPLICATION) against `baseDir`.
 */
export function resolveAppReference(
  spec: string,
  baseDir: string,
  what = ASGI_APPLICATION_SETTING,
): AppReference {
  let moduleSpec: string
  let attribute: string[]
  let candidates: string[]
  const colon = spec.lastIndexOf(':')
  if (colon > 1 || (colon === 1 && !/^[a-zA-Z]:[\\/]/.test(spec))) {
    // Daphne splits on the first ':' of "module:attr"; we take the last so paths may hold ':'.
    moduleSpec = spec.slice(0, colon)
    attribute = spec.slice(colon + 1).split('.')
    candidates = [moduleSpec]
    if (/^[\w.]+$/.test(moduleSpec) && !MODULE_EXTENSIONS.some((e) => moduleSpec.endsWith(e))) {
      candidates.push(moduleSpec.replaceAll('.', '/'))
    }
  } else {
    const dot = spec.lastIndexOf('.')
    if (dot <= 0) throw new CommandError(`Cannot import ${what} '${spec}'`)
    moduleSpec = spec.slice(0, dot)
    attribute = [spec.slice(dot + 1)]
    candidates = [moduleSpec.replaceAll('.', '/')]
  }
  if (attribute.some((part) => part === '')) {
    throw new CommandError(`Cannot find '${attribute.join('.')}' in ${what} ${moduleSpec}`)
  }
  for (const candidate of candidates) {
    const file = findModuleFile(isAbsolute(candidate) ? candidate : resolve(baseDir, candidate))
    if (file !== undefined) return { file, attribute, moduleName: moduleSpec, what }
  }
  throw new CommandError(`Cannot import ${what} '${moduleSpec}'`)
}

/**
 * The application a reference names: the attribute chain read from the module's exports, which
 * must be a function. For ASGI_APPLICATION a failure is the system check channels.E002; for
 * serve's `module:attr` a plain CommandError (Daphne runs no checks). Messages are Django's.
 */
export function pickExport(exports: Record<string, unknown>, ref: AppReference): Application {
  let value: unknown = exports
  for (const part of ref.attribute) {
    if (
      value === null ||
      (typeof value !== 'object' && typeof value !== 'function') ||
      !(part in value)
    ) {
      const name = ref.attribute.join('.')
      throw exportError(ref, `Cannot find '${name}' in ${ref.what} ${ref.moduleName}`)
    }
    value = (value as Record<string, unknown>)[part]
  }
  if (typeof value !== 'function') {
    const name = `'${ref.attribute.join('.')}' in ${ref.moduleName}`
    throw exportError(ref, `${name} is not an ASGI application (got ${describeValue(value)}).`)
  }
  return value as Application
}

function exportError(ref: AppReference, message: string): CommandError {
  if (ref.what !== ASGI_APPLICATION_SETTING) return new CommandError(message)
  const issue: CheckMessage = {
    level: 'error',
    id: 'channels.E002',
    msg: message,
    hint:
      `ASGI_APPLICATION names an export of ${ref.file}: a function (scope, receive, send), ` +
      "such as new ProtocolTypeRouter({...}) or a consumer's asAsgi().",
  }
  return new SystemCheckError(formatCheckReport([issue]))
}

function findModuleFile(base: string): string | undefined {
  if (isFile(base)) return base
  for (const ext of MODULE_EXTENSIONS) if (isFile(base + ext)) return base + ext
  for (const ext of MODULE_EXTENSIONS)
    if (isFile(join(base, `index${ext}`))) return join(base, `index${ext}`)
  return undefined
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile()
}
