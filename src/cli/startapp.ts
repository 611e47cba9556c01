/**
 * `channels startapp NAME [DIR]`: an app folder with `consumers.ts` and `routing.ts`, ready to be
 * included in the project's router.
 * @module
 */
import { resolve } from 'node:path'
import type { CliContext } from './io.js'
import { ensureWritable, validateName } from './startproject.js'
import { copyTemplate, templateDir } from './template.js'

/** `poll_votes` → `PollVotes` (the consumer class prefix). */
export function pascalCase(name: string): string {
  return name
    .split('_')
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('')
}

/** Run startapp; resolves to the exit code. */
export async function startapp(
  name: string,
  directory: string | undefined,
  ctx: CliContext,
): Promise<number> {
  validateName(name, 'app')
  const target = resolve(ctx.cwd, directory ?? name)
  ensureWritable(target, false)
  const pascal = pascalCase(name) || 'App'
  const context = {
    app_name: name,
    app_class: pascal,
    app_camel: pascal[0]!.toLowerCase() + pascal.slice(1),
  }
  // The template's files sit in an `app_name` folder: copy its contents straight into `target`.
  const files = copyTemplate(resolve(templateDir('app'), 'app_name'), target, context, {})
  ctx.stdout(`Created app ${name} in ${target}: ${files.join(', ')}\n`)
  return 0
}
