/**
 * Generations: esbuild incremental bundles evaluated as CommonJS, the last good generation kept on
 * errors, the change classifier, the watcher-driven reload loop, settings/layer swaps.
 */
import { utimesSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Application } from '../../src/framework/asgi/types.js'
import { applySettings, createProjectLoader } from '../../src/cli/project-loader.js'
import type { GenerationLoader } from '../../src/cli/reload/generations.js'
import {
  classifyChanges,
  snapshot,
  startReloader,
  type Reloader,
} from '../../src/cli/reload/reloader.js'
import { createStableApplication } from '../../src/cli/reload/stable-app.js'
import { isIgnoredPath } from '../../src/cli/reload/watcher.js'
import { channelLayers, sameChannelLayerConfigs } from '../../src/framework/layers/index.js'
import { configureSettings, getSettings } from '../../src/framework/settings/index.js'
import { callHttp } from './http-call.js'
import { createFixture, type Fixture } from './project-fixture.js'

let fixture: Fixture | undefined
let loader: GenerationLoader | undefined
let reloader: Reloader | undefined
afterEach(async () => {
  await reloader?.close()
  await loader?.dispose()
  fixture?.cleanup()
  reloader = undefined
  loader = undefined
  fixture = undefined
  configureSettings({})
})

const routing = (body: string) =>
  [
    "import { greeting } from './greeting.js'",
    'export const application = async (scope: { type: string }, _r: unknown, send: (e: unknown) => Promise<void>) => {',
    "  await send({ type: 'http.response.start', status: 200, headers: [] })",
    `  await send({ type: 'http.response.body', body: Buffer.from(greeting + ${JSON.stringify(body)}) })`,
    '}',
    '',
  ].join('\n')

async function setup(): Promise<{ fixture: Fixture; loader: GenerationLoader }> {
  fixture = createFixture()
  fixture.write('mysite/greeting.ts', "export const greeting = 'hello '\n")
  fixture.write('mysite/routing.ts', routing('v1'))
  loader = await createProjectLoader({
    projectDir: fixture.dir,
    settingsFile: `${fixture.dir}/settings.ts`,
    color: false,
  })
  return { fixture, loader }
}

async function body(app: Application): Promise<string> {
  return (await callHttp(app, '/')).body.toString()
}

describe('GenerationLoader', () => {
  it('loads, reloads, keeps the last good generation on errors, and recovers', async () => {
    const { fixture, loader } = await setup()
    const first = await loader.load({ settings: true })
    expect(first.ok && first.generation.id).toBe(1)
    expect(await body(loader.current!.app)).toBe('hello v1')
    expect(getSettings().BASE_DIR).toBe(fixture.dir)

    // A dependency of the entry changes: the bundle picks it up (no stale imports).
    fixture.write('mysite/greeting.ts', "export const greeting = 'howdy '\n")
    const second = await loader.load()
    expect(second.ok && second.generation.id).toBe(2)
    expect(await body(loader.current!.app)).toBe('howdy v1')

    // A syntax error: the build fails with esbuild's frame, generation 2 keeps serving.
    fixture.write('mysite/routing.ts', 'export const application = (\n')
    const broken = await loader.load()
    expect(broken.ok).toBe(false)
    if (!broken.ok)
      expect(broken.message).toMatch(/\[ERROR\] Unexpected end of file\s+mysite\/routing\.ts:2:0/)
    expect(loader.current?.id).toBe(2)
    expect(loader.lastFailed).toBe(true)
    expect(await body(loader.current!.app)).toBe('howdy v1')

    // An exception while evaluating: same.
    fixture.write('mysite/routing.ts', "throw new Error('boom at import')\n")
    const throwing = await loader.load()
    expect(throwing.ok).toBe(false)
    if (!throwing.ok) expect(throwing.message).toContain('boom at import')
    expect(loader.current?.id).toBe(2)

    fixture.write('mysite/routing.ts', routing('v3'))
    const fixed = await loader.load()
    expect(fixed.ok && fixed.generation.id).toBe(3)
    expect(loader.lastFailed).toBe(false)
    expect(await body(loader.current!.app)).toBe('howdy v3')
  })

  it('an export that is not a function is refused', async () => {
    const { fixture, loader } = await setup()
    fixture.write('mysite/routing.ts', 'export const application = 42\n')
    const result = await loader.load({ settings: true })
    expect(result.ok).toBe(false)
    if (!result.ok)
      expect(result.message).toContain("'application' in mysite.routing is not an ASGI application")
  })

  it('records the inputs of each bundle for the change classifier', async () => {
    const { fixture, loader } = await setup()
    await loader.load({ settings: true })
    const file = (name: string) => `${fixture.dir}/${name}`
    expect(classifyChanges([file('settings.ts')], loader)).toBe('all')
    expect(classifyChanges([file('mysite/greeting.ts')], loader)).toBe('app')
    expect(classifyChanges([file('static/hello.txt'), file('README.md')], loader)).toBe('none')
    expect(classifyChanges([file('mysite/routing.ts'), file('settings.ts')], loader)).toBe('all')
    // After a failed build any code file may be the fix.
    fixture.write('mysite/routing.ts', 'export const application = (\n')
    await loader.load()
    expect(classifyChanges([file('mysite/new-helper.ts')], loader)).toBe('app')
    expect(classifyChanges([file('static/app.css')], loader)).toBe('none')
  })
})

describe('hot generations (runserver)', () => {
  // Each generation counts its interval's ticks in a global the test reads.
  const ticking = (label: string, extra = '') =>
    [
      'const g = globalThis as any',
      `g.ticks ??= {}; g.ticks[${JSON.stringify(label)}] = 0`,
      `setInterval(() => g.ticks[${JSON.stringify(label)}]++, 5)`,
      `import.meta.hot?.dispose(() => { (g.disposed ??= []).push(${JSON.stringify(label)}) })`,
      extra,
      'type Send = (e: unknown) => Promise<void>',
      'export const application = async (_s: unknown, _r: unknown, send: Send) => {',
      "  await send({ type: 'http.response.start', status: 200, headers: [] })",
      `  await send({ type: 'http.response.body', body: Buffer.from(${JSON.stringify(label)}) })`,
      '}',
      '',
    ].join('\n')
  const g = globalThis as unknown as { ticks?: Record<string, number>; disposed?: string[] }
  const ticks = (label: string) => g.ticks?.[label] ?? 0
  afterEach(async () => {
    // Retiring stops the intervals before their counters go.
    await loader?.retireAll(1000)
    delete g.ticks
    delete g.disposed
  })

  async function hotSetup(): Promise<{ fixture: Fixture; loader: GenerationLoader }> {
    fixture = createFixture()
    fixture.write('mysite/routing.ts', ticking('one'))
    loader = await createProjectLoader({
      projectDir: fixture.dir,
      settingsFile: `${fixture.dir}/settings.ts`,
      color: false,
      hot: true,
    })
    return { fixture, loader }
  }

  it('a leased generation keeps running after a reload; its last release retires it', async () => {
    const { fixture, loader } = await hotSetup()
    await loader.load({ settings: true })
    const lease = loader.lease()
    fixture.write('mysite/routing.ts', ticking('two'))
    await loader.load()
    expect(await body(loader.current!.app)).toBe('two')
    const before = ticks('one')
    await vi.waitFor(() => expect(ticks('one')).toBeGreaterThan(before + 2))
    expect(g.disposed).toBeUndefined()

    lease.release()
    lease.release()
    await vi.waitFor(() => expect(g.disposed).toEqual(['one']))
    const stopped = ticks('one')
    const two = ticks('two')
    await vi.waitFor(() => expect(ticks('two')).toBeGreaterThan(two + 5))
    expect(ticks('one')).toBe(stopped)

    expect(await loader.retireAll(1000)).toBe(true)
    expect(g.disposed).toEqual(['one', 'two'])
  })

  it('an evaluation that throws has its timers cleared and its dispose callbacks run', async () => {
    const { fixture, loader } = await hotSetup()
    await loader.load({ settings: true })
    fixture.write('mysite/routing.ts', ticking('broken', "throw new Error('boom')"))
    const failed = await loader.load()
    expect(failed.ok).toBe(false)
    await vi.waitFor(() => expect(g.disposed).toEqual(['broken']))
    const stopped = ticks('broken')
    const one = ticks('one')
    await vi.waitFor(() => expect(ticks('one')).toBeGreaterThan(one + 5))
    expect(ticks('broken')).toBe(stopped)
    expect(loader.current?.id).toBe(1)
  })

  it('timers keep Node semantics: clear, refresh, unref, promisify; local names untouched', async () => {
    const { fixture, loader } = await hotSetup()
    fixture.write(
      'mysite/routing.ts',
      [
        "import { promisify } from 'node:util'",
        'const g = globalThis as any',
        'g.log = []',
        "const t = setTimeout(() => g.log.push('cleared timeout fired'), 1)",
        'clearTimeout(t)',
        "const i = setInterval(() => g.log.push('cleared interval fired'), 1)",
        'clearInterval(i)',
        "setImmediate((x: string) => g.log.push(x), 'immediate')",
        "const r = setTimeout(() => g.log.push('refreshed'), 5).unref()",
        'r.refresh()',
        "promisify(setTimeout)(1).then(() => g.log.push('promisified'))",
        'function local() {',
        '  const setTimeout = (f: () => void) => f()',
        "  setTimeout(() => g.log.push('local'))",
        '}',
        'local()',
        'export const application = async () => {}',
        '',
      ].join('\n'),
    )
    await loader.load({ settings: true })
    const log = () => (globalThis as unknown as { log: string[] }).log
    await vi.waitFor(() =>
      expect([...log()].sort()).toEqual(['immediate', 'local', 'promisified', 'refreshed']),
    )
    delete (globalThis as unknown as { log?: string[] }).log
  })
})

describe('the stable application', () => {
  it('routes each new connection to the current generation', async () => {
    let current: Application = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 })
      await send({ type: 'http.response.body', body: Buffer.from('one') })
    }
    const stable = createStableApplication(() => current)
    expect(await body(stable)).toBe('one')
    current = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 })
      await send({ type: 'http.response.body', body: Buffer.from('two') })
    }
    expect(await body(stable)).toBe('two')
  })
})

describe('watcher', () => {
  it('ignores node_modules, .git, dist and the .channels cache', () => {
    expect(isIgnoredPath('/p/node_modules/x/index.js')).toBe(true)
    expect(isIgnoredPath('/p/.git/HEAD')).toBe(true)
    expect(isIgnoredPath('/p/dist/a.js')).toBe(true)
    expect(isIgnoredPath('/p/.channels/routing.cjs')).toBe(true)
    expect(isIgnoredPath('/p/chat/consumers.ts')).toBe(false)
    expect(isIgnoredPath('/p/distance/a.ts')).toBe(false)
  })

  it('reloads on save, reports it, and reports (then recovers from) a broken save', async () => {
    const { fixture, loader } = await setup()
    await loader.load({ settings: true })
    const lines: string[] = []
    const errors: string[] = []
    reloader = startReloader(fixture.dir, loader, {
      info: (l) => lines.push(l),
      error: (e) => errors.push(e),
    })
    await reloader.ready
    fixture.write('mysite/routing.ts', routing('v2'))
    await vi.waitFor(
      () => expect(lines.some((l) => /^Reloaded in \d+ ms \(generation 2\)$/.test(l))).toBe(true),
      { timeout: 10_000 },
    )
    expect(lines).toContain("Detected changes in 'mysite/routing.ts'. Reloading...")
    expect(await body(loader.current!.app)).toBe('hello v2')

    fixture.write('mysite/routing.ts', 'export const application = (\n')
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 10_000 })
    expect(errors[0]).toMatch(/routing\.ts/)
    await vi.waitFor(() =>
      expect(lines).toContain('Still serving generation 2; fix the error and save again.'),
    )

    fixture.write('mysite/routing.ts', routing('v3'))
    await vi.waitFor(() => expect(loader.current?.id).toBe(3), { timeout: 10_000 })
    expect(await body(loader.current!.app)).toBe('hello v3')
  })

  it('a save right after a reload is not lost (chokidar throttles repeated changes for 50 ms)', async () => {
    const { fixture, loader } = await setup()
    await loader.load({ settings: true })
    const lines: string[] = []
    reloader = startReloader(fixture.dir, loader, {
      info: (l) => lines.push(l),
      error: (l) => lines.push(l),
    })
    await reloader.ready
    fixture.write('mysite/routing.ts', routing('v2'))
    await vi.waitFor(() => expect(loader.current?.id).toBe(2), { timeout: 10_000, interval: 1 })
    fixture.write('mysite/routing.ts', routing('v3'))
    await vi.waitFor(async () => expect(await body(loader.current!.app)).toBe('hello v3'), {
      timeout: 10_000,
    })
    await reloader.idle()
    // Seen by the watcher and by the recheck, built once.
    await new Promise((r) => setTimeout(r, 150))
    expect(loader.current?.id).toBe(3)
  })

  it('a save between the first build and the watcher being ready is not lost', async () => {
    const { fixture, loader } = await setup()
    await loader.load({ settings: true })
    const built = snapshot(loader)
    // Saved before watching starts: chokidar's initial scan (ignoreInitial) reports nothing.
    fixture.write('mysite/routing.ts', routing('v2'))
    const later = new Date(Date.now() + 2000)
    utimesSync(`${fixture.dir}/mysite/routing.ts`, later, later)
    reloader = startReloader(
      fixture.dir,
      loader,
      { info: () => undefined, error: () => undefined },
      undefined,
      built,
    )
    await reloader.ready
    await vi.waitFor(async () => expect(await body(loader.current!.app)).toBe('hello v2'), {
      timeout: 10_000,
    })
  })

  it('a settings change reloads settings and application; the channel layer survives when CHANNEL_LAYERS is equal', async () => {
    const { fixture, loader } = await setup()
    const settings = (mark: string, capacity = 100) =>
      `export default { DEBUG: true, ASGI_APPLICATION: 'mysite.routing.application', MARK: '${mark}', ` +
      `CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer', CONFIG: { capacity: ${capacity} } } } }\n`
    fixture.write('settings.ts', settings('one'))
    await loader.load({ settings: true })
    const layer = channelLayers.get('default')
    expect(layer).not.toBeNull()
    reloader = startReloader(fixture.dir, loader, { info: () => undefined, error: () => undefined })
    await reloader.ready
    fixture.write('settings.ts', settings('two'))
    await vi.waitFor(() => expect(getSettings().MARK).toBe('two'), { timeout: 10_000 })
    expect(loader.current?.id).toBe(2)
    expect(channelLayers.get('default')).toBe(layer)
    fixture.write('settings.ts', settings('three', 5))
    await vi.waitFor(() => expect(getSettings().MARK).toBe('three'), { timeout: 10_000 })
    expect(channelLayers.get('default')).not.toBe(layer)
  })

  it('a static file change does not reload', async () => {
    const { fixture, loader } = await setup()
    await loader.load({ settings: true })
    const lines: string[] = []
    reloader = startReloader(fixture.dir, loader, {
      info: (l) => lines.push(l),
      error: (l) => lines.push(l),
    })
    await reloader.ready
    fixture.write('static/hello.txt', 'changed\n')
    // Then a code change: the only reload reported is the code one.
    fixture.write('mysite/greeting.ts', "export const greeting = 'hi '\n")
    await vi.waitFor(() => expect(loader.current?.id).toBe(2), { timeout: 10_000 })
    await reloader.idle()
    expect(lines.filter((l) => l.startsWith('Detected changes'))).toEqual([
      "Detected changes in 'mysite/greeting.ts'. Reloading...",
    ])
  })
})

describe('settings reload and channel layers', () => {
  const layers = { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } }

  it('keeps the running layer when CHANNEL_LAYERS is unchanged', () => {
    applySettings({ CHANNEL_LAYERS: { ...layers } }, undefined)
    const first = channelLayers.get('default')
    const previous = getSettings() as Record<string, unknown>
    applySettings({ CHANNEL_LAYERS: structuredClone(layers), DEBUG: true }, previous)
    expect(channelLayers.get('default')).toBe(first)
  })

  it('builds a new layer when CHANNEL_LAYERS changes', () => {
    applySettings({ CHANNEL_LAYERS: { ...layers } }, undefined)
    const first = channelLayers.get('default')
    const previous = getSettings() as Record<string, unknown>
    applySettings(
      { CHANNEL_LAYERS: { default: { ...layers.default, CONFIG: { capacity: 5 } } } },
      previous,
    )
    const second = channelLayers.get('default')
    expect(second).not.toBe(first)
    expect(second).not.toBeNull()
  })

  it('a bad BACKEND fails the reload and restores the old settings and layer', () => {
    applySettings({ CHANNEL_LAYERS: { ...layers }, MARK: 'old' }, undefined)
    const first = channelLayers.get('default')
    const previous = getSettings() as Record<string, unknown>
    expect(() =>
      applySettings(
        { CHANNEL_LAYERS: { default: { BACKEND: 'no.such.Layer' } }, MARK: 'new' },
        previous,
      ),
    ).toThrow(/Cannot import BACKEND/)
    expect(getSettings().MARK).toBe('old')
    expect(channelLayers.get('default')).toBe(first)
  })

  it('the loader compares CHANNEL_LAYERS structurally and functions by identity', () => {
    class A {}
    expect(sameChannelLayerConfigs({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] })).toBe(true)
    expect(sameChannelLayerConfigs({ a: [1] }, { a: [2] })).toBe(false)
    expect(sameChannelLayerConfigs({ B: A }, { B: A })).toBe(true)
    expect(sameChannelLayerConfigs({ B: A }, { B: class A {} })).toBe(false)
    expect(sameChannelLayerConfigs({ a: 1 }, { a: 1, b: 2 })).toBe(false)
  })
})
