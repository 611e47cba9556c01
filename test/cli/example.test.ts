/**
 * example/ is the startproject output for `mysite` (with `--link .` from the repo root): keep the
 * committed copy in step with templates/project.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { frameworkRoot } from '../../src/cli/package-info.js'
import { listTemplateFiles, render, targetPath, templateDir } from '../../src/cli/template.js'

const EXAMPLE = join(frameworkRoot(), 'example')
const NOT_COMMITTED =
  /^(node_modules|\.channels)\/|^package-lock\.json$|\.sqlite3(-wal|-shm|-journal)?$/

describe('example/', () => {
  it('has exactly the files of the project template', () => {
    const expected = listTemplateFiles(templateDir('project')).map((f) =>
      targetPath(f, { project_name: 'mysite' }),
    )
    const actual = listTemplateFiles(EXAMPLE).filter((f) => !NOT_COMMITTED.test(f))
    expect(actual).toEqual(expected.sort())
  })

  it('each file is the rendered template (its own SECRET_KEY, channels-ts from file:..)', () => {
    for (const file of listTemplateFiles(templateDir('project'))) {
      const committed = readFileSync(
        join(EXAMPLE, targetPath(file, { project_name: 'mysite' })),
        'utf8',
      )
      const secret = /SECRET_KEY:\s+DJANGO_SECRET_KEY \?\? '([^']*)'/.exec(committed)?.[1] ?? ''
      const rendered = render(readFileSync(join(templateDir('project'), file), 'utf8'), {
        project_name: 'mysite',
        secret_key: secret,
        channels_dependency: 'file:..',
      })
      expect(committed, file).toBe(rendered)
    }
  })
})
