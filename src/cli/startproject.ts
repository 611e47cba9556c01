/**
 * `channels startproject NAME [DIR]`: a runnable project from templates/project — settings, the
 * root routing module, the tutorial's chat consumer and its pages.
 * @module
 */
import { randomInt } from 'node:crypto'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import { CommandError } from './errors.js'
import type { CliContext } from './io.js'
import { frameworkRoot } from './package-info.js'
import { copyTemplate, templateDir } from './template.js'

/** startproject's flags. */
export interface StartprojectOptions {
  force?: boolean
  link?: string
  channelsVersion?: string
}

/** Folder names the project template already uses: a project can't be called that. */
const RESERVED = new Set(['chat', 'static', 'node_modules', 'channels', 'channels_ts'])

// Django's get_random_secret_key alphabet.
const SECRET_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)'

/** Django-style names: a valid identifier, so `name.routing.application` works. */
export function validateName(name: string, kind: 'project' | 'app'): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new CommandError(
      `'${name}' is not a valid ${kind} name. Please make sure the name is a valid identifier.`,
    )
  }
  if (kind === 'project' && RESERVED.has(name)) {
    throw new CommandError(
      `'${name}' conflicts with a folder of the project template. Please try another name.`,
    )
  }
}

/** A fresh random SECRET_KEY, Django's length and alphabet. */
export function randomSecretKey(): string {
  let key = 'channels-insecure-'
  for (let i = 0; i < 50; i++) key += SECRET_CHARS.charAt(randomInt(SECRET_CHARS.length))
  return key
}

/**
 * What `package.json` depends on: by default the framework this CLI runs from, as a `file:`
 * link (nothing needs publishing); `--link PATH` another checkout; `--channels-version` a range.
 */
export function channelsDependency(
  options: StartprojectOptions,
  target: string,
  cwd: string,
): string {
  if (options.link !== undefined && options.channelsVersion !== undefined) {
    throw new CommandError('Use either --link or --channels-version, not both.')
  }
  if (options.channelsVersion !== undefined) return options.channelsVersion
  if (options.link !== undefined) {
    const linked = resolve(cwd, options.link)
    // A relative link stays relative (portable with the folder); an absolute one stays absolute.
    return `file:${isAbsolute(options.link) ? linked : relative(target, linked) || '.'}`
  }
  return `file:${frameworkRoot()}`
}

/** Refuse to mix the template into an existing project. */
export function ensureWritable(target: string, force: boolean): void {
  if (!existsSync(target)) return
  if (!statSync(target).isDirectory())
    throw new CommandError(`'${target}' exists and is not a directory.`)
  if (!force && readdirSync(target).length > 0) {
    throw new CommandError(
      `'${target}' already exists and is not empty. Use --force to write into it anyway.`,
    )
  }
}

/** Run startproject; resolves to the exit code. */
export async function startproject(
  name: string,
  directory: string | undefined,
  options: StartprojectOptions,
  ctx: CliContext,
): Promise<number> {
  validateName(name, 'project')
  const target = resolve(ctx.cwd, directory ?? name)
  ensureWritable(target, options.force === true)
  const context = {
    project_name: name,
    secret_key: randomSecretKey(),
    channels_dependency: channelsDependency(options, target, ctx.cwd),
  }
  const files = copyTemplate(templateDir('project'), target, context, { project_name: name })
  const shown = relative(ctx.cwd, target) || '.'
  const lines = [
    `Created project ${name} in ${target} (${files.length} files).`,
    '',
    'Next steps:',
    ...(shown === '.' ? [] : [`  cd ${shown.includes(' ') ? JSON.stringify(shown) : shown}`]),
    '  npm install',
    '  npx channels runserver',
    '',
  ]
  ctx.stdout(lines.join('\n'))
  return 0
}
