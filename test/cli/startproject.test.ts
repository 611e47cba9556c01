/**
 * startproject / startapp (create-vite's cli.spec style): the written file list against the
 * template, placeholders, the `file:` dependency, refusal of a non-empty folder, bad names.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.js'
import { frameworkRoot } from '../../src/cli/package-info.js'
import { listTemplateFiles, render, targetPath, templateDir } from '../../src/cli/template.js'

let cwd: string
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'channels-start-'))
})
afterEach(() => rmSync(cwd, { recursive: true, force: true }))

async function run(...argv: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, {
    cwd,
    env: {},
    color: false,
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  })
  return { code, stdout, stderr }
}

function listFiles(dir: string): string[] {
  return listTemplateFiles(dir)
}

describe('startproject', () => {
  it('writes the template tree, renamed, with placeholders filled', async () => {
    const result = await run('startproject', 'mysite')
    expect(result.code).toBe(0)
    const expected = listTemplateFiles(templateDir('project'))
      .map((f) => targetPath(f, { project_name: 'mysite' }))
      .sort()
    expect(listFiles(join(cwd, 'mysite'))).toEqual(expected)
    expect(expected).toContain('.gitignore')
    expect(expected).toContain('mysite/routing.ts')
    expect(expected).toContain('chat/consumers.ts')
    expect(expected).not.toContain('_gitignore')

    const settings = readFileSync(join(cwd, 'mysite/settings.ts'), 'utf8')
    expect(settings).toContain("ASGI_APPLICATION: 'mysite.routing.application'")
    expect(settings).toMatch(/SECRET_KEY:\s+DJANGO_SECRET_KEY \?\? 'channels-insecure-[^']{50}'/)
    expect(settings).not.toContain('{{')
    const pkg = JSON.parse(readFileSync(join(cwd, 'mysite/package.json'), 'utf8')) as {
      name: string
      dependencies: Record<string, string>
    }
    expect(pkg.name).toBe('mysite')
    expect(pkg.dependencies['channels-ts']).toBe(`file:${frameworkRoot()}`)
    expect(result.stdout).toContain(
      'Next steps:\n  cd mysite\n  npm install\n  npx channels runserver\n',
    )
  })

  it('two projects get different secret keys', async () => {
    await run('startproject', 'one')
    await run('startproject', 'two')
    const key = (p: string) =>
      /SECRET_KEY:\s+DJANGO_SECRET_KEY \?\? '([^']+)'/.exec(
        readFileSync(join(cwd, p, 'settings.ts'), 'utf8'),
      )?.[1]
    expect(key('one')).not.toBe(key('two'))
  })

  it('writes into DIR; refuses a non-empty DIR unless --force', async () => {
    mkdirSync(join(cwd, 'target'))
    writeFileSync(join(cwd, 'target/keep.txt'), 'mine')
    const refused = await run('startproject', 'mysite', 'target')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(
      'already exists and is not empty. Use --force to write into it anyway.',
    )
    expect(existsSync(join(cwd, 'target/settings.ts'))).toBe(false)
    const forced = await run('startproject', 'mysite', 'target', '--force')
    expect(forced.code).toBe(0)
    expect(existsSync(join(cwd, 'target/settings.ts'))).toBe(true)
    expect(readFileSync(join(cwd, 'target/keep.txt'), 'utf8')).toBe('mine')
    mkdirSync(join(cwd, 'empty'))
    expect((await run('startproject', 'mysite', 'empty')).code).toBe(0)
  })

  it('--link writes a relative file: dependency; --channels-version a range', async () => {
    await run('startproject', 'linked', 'linked', '--link', '.')
    const linked = JSON.parse(readFileSync(join(cwd, 'linked/package.json'), 'utf8')) as {
      dependencies: Record<string, string>
    }
    expect(linked.dependencies['channels-ts']).toBe('file:..')
    await run('startproject', 'ranged', 'ranged', '--channels-version', '^0.1.0')
    const ranged = JSON.parse(readFileSync(join(cwd, 'ranged/package.json'), 'utf8')) as {
      dependencies: Record<string, string>
    }
    expect(ranged.dependencies['channels-ts']).toBe('^0.1.0')
    const both = await run('startproject', 'both', 'both', '--link', '.', '--channels-version', '1')
    expect(both.code).toBe(1)
    expect(both.stderr).toContain('Use either --link or --channels-version, not both.')
  })

  it.each([['my-site'], ['1site'], ['my site'], ['chat'], ['static']])(
    'refuses the name %j',
    async (name) => {
      const result = await run('startproject', name)
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/is not a valid project name|conflicts with a folder/)
      expect(existsSync(join(cwd, name))).toBe(false)
    },
  )

  it('a missing name is a usage error', async () => {
    const result = await run('startproject')
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("missing required argument 'name'")
  })
})

describe('startapp', () => {
  it('adds an app folder with consumers.ts and routing.ts', async () => {
    const result = await run('startapp', 'poll_votes')
    expect(result.code).toBe(0)
    expect(listFiles(join(cwd, 'poll_votes'))).toEqual(['consumers.ts', 'routing.ts'])
    const routing = readFileSync(join(cwd, 'poll_votes/routing.ts'), 'utf8')
    expect(routing).toContain("import { PollVotesConsumer } from './consumers.js'")
    expect(routing).toContain(
      "export const pollVotesWebsocketUrlpatterns = [path('ws/poll_votes/', PollVotesConsumer.asAsgi())]",
    )
    expect(readFileSync(join(cwd, 'poll_votes/consumers.ts'), 'utf8')).toContain(
      'export class PollVotesConsumer extends AsyncJsonWebsocketConsumer',
    )
  })

  it('refuses an existing non-empty folder and a bad name', async () => {
    await run('startapp', 'polls')
    expect((await run('startapp', 'polls')).code).toBe(1)
    expect((await run('startapp', 'bad-name')).stderr).toContain(
      "'bad-name' is not a valid app name.",
    )
  })
})

describe('template helpers', () => {
  it('render fills known placeholders and leaves others', () => {
    expect(render('{{ a }}-{{b}}-{{ c }}', { a: '1', b: '2' })).toBe('1-2-{{ c }}')
  })
})

describe('main', () => {
  it('--version prints the package version; --help lists the commands', async () => {
    const version = await run('--version')
    expect(version.code).toBe(0)
    const pkg = JSON.parse(readFileSync(join(frameworkRoot(), 'package.json'), 'utf8')) as {
      version: string
    }
    expect(version.stdout).toBe(`${pkg.version}\n`)
    const help = await run('--help')
    expect(help.code).toBe(0)
    for (const command of ['runserver', 'serve', 'startproject', 'startapp'])
      expect(help.stdout).toContain(command)
  })

  it('an unknown command or option is a usage error (exit 2)', async () => {
    expect((await run('frobnicate')).code).toBe(2)
    expect((await run('runserver', '--frob')).code).toBe(2)
  })
})
