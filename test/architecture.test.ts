/**
 * The import rules of src/ (docs/architecture.md, "What may import what"): the framework never
 * imports the server or the CLI, the server uses only the framework's asgi/ and reaches the
 * reactors through their types and registry, nothing imports the CLI, src/testing (the
 * `channels-ts/testing` entry) uses the server only through its public entry and nothing imports
 * it, src/util is a leaf, only the uWS reactor loads uWebSockets.js, and no module imports itself
 * through others. Type-only imports count: a cycle of types still ties the modules' meaning
 * together.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SRC = join(ROOT, 'src')
const UWS = 'uWebSockets.js'

/**
 * A module's imports: src files by repository path, bare package specifiers, and the packages
 * it names in a string (`require(\`${PACKAGE}/dist/index.js\`)` loads one without a literal).
 */
interface Imports {
  local: string[]
  packages: string[]
  named: string[]
}

/** Strings that name `pkg` or a file in it. */
function namesOf(source: ts.SourceFile, pkg: string): string[] {
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if (
      (ts.isStringLiteral(node) ||
        ts.isNoSubstitutionTemplateLiteral(node) ||
        ts.isTemplateHead(node)) &&
      (node.text === pkg || node.text.startsWith(`${pkg}/`))
    ) {
      found.push(node.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** `src/a/b.ts` from an absolute path, with forward slashes on every platform. */
function repoPath(path: string): string {
  return relative(ROOT, path).split(sep).join('/')
}

/** The .ts file a relative specifier names (`./x.js` is `./x.ts`; a directory is its index). */
function resolveLocal(from: string, specifier: string, files: ReadonlySet<string>): string {
  const base = resolve(dirname(from), specifier)
  const stem = base.replace(/\.(js|ts|mjs|cjs)$/, '')
  for (const candidate of [`${stem}.ts`, join(base, 'index.ts')]) {
    if (files.has(candidate)) return candidate
  }
  throw new Error(`${repoPath(from)}: cannot resolve import '${specifier}'`)
}

/**
 * Every module's imports: `import`, `import type`, `export … from`, side-effect imports,
 * `import('…')` and `require('…')` with a literal specifier (TypeScript's own pre-processor finds
 * them all and skips comments and strings).
 */
function importGraph(): Map<string, Imports> {
  const paths = sourceFiles(SRC)
  const files = new Set(paths)
  const graph = new Map<string, Imports>()
  for (const path of paths) {
    const text = readFileSync(path, 'utf8')
    const info = ts.preProcessFile(text, true, true)
    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest)
    const imports: Imports = { local: [], packages: [], named: namesOf(source, UWS) }
    for (const { fileName } of info.importedFiles) {
      if (fileName.startsWith('.')) {
        imports.local.push(repoPath(resolveLocal(path, fileName, files)))
      } else {
        imports.packages.push(fileName)
      }
    }
    graph.set(repoPath(path), imports)
  }
  return graph
}

/** Each cycle found, as a path that starts and ends at the same module. */
function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components; each component with an edge inside is a cycle.
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  let next = 0
  const visit = (node: string): void => {
    index.set(node, next)
    low.set(node, next)
    next++
    stack.push(node)
    onStack.add(node)
    for (const target of edges.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(node, Math.min(low.get(node)!, low.get(target)!))
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      const selfLoop = (edges.get(node) ?? []).includes(node)
      if (component.length > 1 || selfLoop) components.push(component)
    }
  }
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node)
  return components.map((component) => cyclePath(edges, new Set(component)))
}

/** One cycle through a strongly connected component: a breadth-first walk back to its start. */
function cyclePath(edges: ReadonlyMap<string, readonly string[]>, members: Set<string>): string[] {
  const start = [...members].sort()[0]!
  const parent = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const node = queue.shift()!
    for (const target of edges.get(node) ?? []) {
      if (!members.has(target)) continue
      if (target === start) {
        const path = [start]
        for (let at: string | undefined = node; at !== undefined && at !== start;) {
          path.push(at)
          at = parent.get(at)
        }
        return [start, ...path.slice(1).reverse(), start]
      }
      if (!parent.has(target)) {
        parent.set(target, node)
        queue.push(target)
      }
    }
  }
  return [start, start]
}

function violations(
  graph: ReadonlyMap<string, Imports>,
  from: (path: string) => boolean,
  forbidden: (target: string) => boolean,
): string[] {
  const found: string[] = []
  for (const [path, imports] of graph) {
    if (!from(path)) continue
    for (const target of imports.local) if (forbidden(target)) found.push(`${path} → ${target}`)
  }
  return found.sort()
}

const graph = importGraph()
const under = (folder: string) => (path: string) => path.startsWith(`src/${folder}/`)

describe('the import graph of src/', () => {
  it('sees every module and the imports it is known to have', () => {
    expect(graph.size).toBeGreaterThan(100)
    expect(graph.get('src/index.ts')?.local.length).toBeGreaterThan(0)
    // auth.ts imports Session as a type only: that edge is in the graph.
    expect(graph.get('src/framework/middleware/auth.ts')?.local).toContain(
      'src/framework/middleware/sessions/session.ts',
    )
    // reactor/index.ts loads the uWS reactor with import().
    expect(graph.get('src/server/reactor/index.ts')?.local).toContain('src/server/reactor/uws.ts')
  })

  it('has no cycles, type-only imports included', () => {
    const cycles = findCycles(
      new Map([...graph].map(([path, imports]) => [path, [...new Set(imports.local)]])),
    )
    expect(cycles.map((cycle) => cycle.join(' → '))).toEqual([])
  })

  it('keeps the framework off the server and the CLI', () => {
    expect(violations(graph, under('framework'), under('server'))).toEqual([])
    expect(violations(graph, under('framework'), under('cli'))).toEqual([])
  })

  it('keeps the server off the CLI, and everything else too', () => {
    expect(violations(graph, under('server'), under('cli'))).toEqual([])
    expect(violations(graph, (path) => !under('cli')(path), under('cli'))).toEqual([])
  })

  it('lets the server use only src/framework/asgi of the framework (the contract)', () => {
    const beyondAsgi = (target: string) =>
      under('framework')(target) && !under('framework/asgi')(target)
    expect(violations(graph, under('server'), beyondAsgi)).toEqual([])
  })

  it('lets the server reach its reactors only through reactor/types.ts and reactor/index.ts', () => {
    const outside = (path: string) => under('server')(path) && !under('server/reactor')(path)
    const entry = new Set(['src/server/reactor/types.ts', 'src/server/reactor/index.ts'])
    const inside = (target: string) => under('server/reactor')(target) && !entry.has(target)
    expect(violations(graph, outside, inside)).toEqual([])
  })

  it('lets src/testing use the framework and only the public entry of the server', () => {
    expect(graph.get('src/testing/index.ts')?.local).toContain('src/framework/testing/index.ts')
    const serverInternals = (target: string) =>
      under('server')(target) && target !== 'src/server/index.ts'
    expect(violations(graph, under('testing'), serverInternals)).toEqual([])
  })

  it('keeps src/testing a package entry: nothing else under src/ imports it', () => {
    expect(violations(graph, (path) => !under('testing')(path), under('testing'))).toEqual([])
  })

  it('keeps src/util a leaf: its modules import only each other', () => {
    expect(violations(graph, under('util'), (target) => !under('util')(target))).toEqual([])
  })

  it('loads uWebSockets.js only from the uWS reactor (src/server/reactor/uws*.ts)', () => {
    const loaders = [...graph]
      .filter(([, imports]) => imports.packages.includes(UWS) || imports.named.length > 0)
      .map(([path]) => path)
    expect(loaders.length).toBeGreaterThan(0)
    expect(loaders.filter((path) => !/^src\/server\/reactor\/uws[^/]*\.ts$/.test(path))).toEqual([])
  })

  it('talks to Redis and msgpack only from the Redis layers (src/framework/layers/redis/)', () => {
    const packages = ['@redis/client', '@msgpack/msgpack']
    const users = [...graph]
      .filter(([, imports]) => imports.packages.some((name) => packages.includes(name)))
      .map(([path]) => path)
    expect(users.length).toBeGreaterThan(0)
    expect(users.filter((path) => !path.startsWith('src/framework/layers/redis/'))).toEqual([])
  })
})

describe('findCycles', () => {
  it('finds none in a tree', () => {
    expect(
      findCycles(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toEqual([])
  })

  it('reports a cycle as the path around it', () => {
    const edges = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ])
    expect(findCycles(edges)).toEqual([['a', 'b', 'c', 'a']])
  })

  it('reports a module that imports itself, and each separate cycle', () => {
    const edges = new Map([
      ['a', ['a']],
      ['b', ['c']],
      ['c', ['b']],
    ])
    expect(findCycles(edges)).toEqual([
      ['a', 'a'],
      ['b', 'c', 'b'],
    ])
  })
})
