/**
 * Copying a template tree (templates/project, templates/app) with Django-style placeholders:
 * `{{ name }}` in file contents, `project_name`/`app_name` as folder names, and `_gitignore`
 * renamed to `.gitignore` (npm drops `.gitignore` from published packages).
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { frameworkRoot } from './package-info.js'

/** Files renamed on copy. */
export const RENAME_FILES: Readonly<Record<string, string>> = { _gitignore: '.gitignore' }

/** The template folder `name` inside the framework package (`templates/project`). */
export function templateDir(name: 'project' | 'app'): string {
  return join(frameworkRoot(), 'templates', name)
}

/** Every file of a template, relative, with `/` separators, sorted. */
export function listTemplateFiles(dir: string): string[] {
  const files: string[] = []
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name)
      if (entry.isDirectory()) walk(path)
      else files.push(relative(dir, path).split('\\').join('/'))
    }
  }
  walk(dir)
  return files.sort()
}

/** Where a template file lands: folder placeholders replaced, `_gitignore` renamed. */
export function targetPath(file: string, names: Readonly<Record<string, string>>): string {
  return file
    .split('/')
    .map((part) => RENAME_FILES[part] ?? names[part] ?? part)
    .join('/')
}

/** Replace every `{{ key }}` whose key is in `context`; others are left alone. */
export function render(text: string, context: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{ *(\w+) *\}\}/g, (whole, key: string) => context[key] ?? whole)
}

/**
 * Copy `templateRoot` into `target`. `folderNames` maps placeholder folder names
 * (`project_name`) to real ones. Returns the written files, relative to `target`.
 */
export function copyTemplate(
  templateRoot: string,
  target: string,
  context: Readonly<Record<string, string>>,
  folderNames: Readonly<Record<string, string>>,
): string[] {
  const written: string[] = []
  for (const file of listTemplateFiles(templateRoot)) {
    const out = targetPath(file, folderNames)
    const destination = join(target, out)
    mkdirSync(join(destination, '..'), { recursive: true })
    const content = readFileSync(join(templateRoot, file))
    // Binary files (a NUL byte) are copied as they are.
    writeFileSync(
      destination,
      content.includes(0) ? content : render(content.toString('utf8'), context),
    )
    written.push(out)
  }
  return written.sort()
}
