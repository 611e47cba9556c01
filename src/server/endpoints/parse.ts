/**
 * Parse Twisted "strports" endpoint descriptions (what `daphne -e` accepts) into the Endpoint
 * union: `tcp:`, `tcp6:`, `unix:`, `ssl:` and daphne's `fd:`. Positional arguments fill each
 * type's parameters in Twisted's order, keywords may come in any order, and every mistake is an
 * EndpointSyntaxError whose message points at the offending part.
 * @module
 */
import { EndpointSyntaxError } from '../../framework/asgi/errors.js'
import { endpointSyntaxError, tokenize } from './tokenize.js'
import type { Segment } from './tokenize.js'
import type { Endpoint } from './types.js'

/** Twisted's default `unix:` socket permissions (`mode='666'` in `_parseUNIX`). */
export const DEFAULT_UNIX_MODE = 0o666

/** Twisted's default `ssl:` key file (`privateKey="server.pem"` in `_parseSSL`). */
export const DEFAULT_PRIVATE_KEY = 'server.pem'

/** The largest fileno/backlog accepted: a C `int`. */
const MAX_INT = 2 ** 31 - 1

/** One argument's unescaped value and the raw range it came from. */
interface Arg {
  value: string
  start: number
  end: number
  /** The keyword it was given as; undefined when positional. */
  key?: string
}

/** Reads and validates one endpoint's arguments; every failure names the type and the part. */
class ArgReader {
  constructor(
    readonly description: string,
    readonly type: string,
    readonly args: ReadonlyMap<string, Arg>,
  ) {}

  fail(message: string, arg?: Arg): EndpointSyntaxError {
    const at = arg ?? { start: this.description.length, end: this.description.length }
    return endpointSyntaxError(this.description, message, at.start, at.end)
  }

  invalid(name: string, arg: Arg, expected: string): EndpointSyntaxError {
    return this.fail(`Invalid ${name} '${arg.value}' for '${this.type}' endpoint: ${expected}`, arg)
  }

  required(name: string): Arg {
    const arg = this.args.get(name)
    if (!arg) throw this.fail(`Missing required key '${name}' for '${this.type}' endpoint`)
    return arg
  }

  /** A non-negative decimal integer up to `max` (stricter than Python's int(): no sign/spaces). */
  integer(name: string, arg: Arg, max: number, expected: string): number {
    const n = /^\d+$/.test(arg.value) ? Number(arg.value) : NaN
    if (!(n <= max)) throw this.invalid(name, arg, expected)
    return n
  }

  port(): number {
    return this.integer('port', this.required('port'), 65535, 'expected an integer 0-65535')
  }

  optionalInteger(name: string, max = MAX_INT): number | undefined {
    const arg = this.args.get(name)
    return arg && this.integer(name, arg, max, 'expected a non-negative integer')
  }

  /** A file path; present ones must not be empty. */
  path(name: string, fallback?: string): string | undefined {
    const arg = this.args.get(name)
    if (!arg) return fallback
    if (arg.value === '') throw this.invalid(name, arg, 'expected a file path')
    return arg.value
  }

  /** An interface address; `[::1]` is accepted for `::1`, as daphne's `-b` accepts it. */
  host(fallback: string): string {
    const value = this.args.get('interface')?.value ?? fallback
    return /^\[.*\]$/.test(value) ? value.slice(1, -1) : value
  }
}

interface EndpointSpec {
  /** Parameter names in the order Twisted's parser function takes them positionally. */
  params: readonly string[]
  /** Other accepted spellings of a parameter. */
  aliases?: Readonly<Record<string, string>>
  build(reader: ArgReader): Endpoint
}

const tcp =
  (defaultHost: string) =>
  (r: ArgReader): Endpoint => ({
    kind: 'tcp',
    port: r.port(),
    host: r.host(defaultHost),
    ...withBacklog(r),
  })

function withBacklog(r: ArgReader): { backlog?: number } {
  const backlog = r.optionalInteger('backlog')
  return backlog === undefined ? {} : { backlog }
}

function unixMode(r: ArgReader): number {
  const arg = r.args.get('mode')
  if (!arg) return DEFAULT_UNIX_MODE
  // Python's int(mode, 8) also takes a `0o` prefix.
  const digits = arg.value.replace(/^0o/i, '')
  const mode = /^[0-7]+$/.test(digits) ? parseInt(digits, 8) : NaN
  if (!(mode <= 0o7777)) throw r.invalid('mode', arg, 'expected octal permissions such as 660')
  return mode
}

function lockfile(r: ArgReader): boolean {
  const arg = r.args.get('lockfile')
  if (!arg) return true
  if (arg.value !== '0' && arg.value !== '1') throw r.invalid('lockfile', arg, 'expected 0 or 1')
  return arg.value === '1'
}

function unixPath(r: ArgReader): string {
  const arg = r.required('path')
  if (arg.value === '') throw r.invalid('path', arg, 'expected a file path')
  return arg.value
}

const FD_DOMAINS = ['INET', 'INET6', 'UNIX']

function fdDomain(r: ArgReader): { domain?: string } {
  const arg = r.args.get('domain')
  if (!arg) return {}
  const domain = arg.value.toUpperCase().replace(/^AF_/, '')
  if (!FD_DOMAINS.includes(domain)) throw r.invalid('domain', arg, 'expected INET, INET6 or UNIX')
  return { domain }
}

/** Only defined keys, so parsed endpoints compare cleanly with `toEqual`. */
function defined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T
}

const SPECS: Readonly<Record<string, EndpointSpec>> = {
  tcp: { params: ['port', 'interface', 'backlog'], build: tcp('') },
  // Twisted's TCP6 parser takes backlog before interface.
  tcp6: { params: ['port', 'backlog', 'interface'], build: tcp('::') },
  unix: {
    params: ['path', 'mode', 'backlog', 'lockfile'],
    // Twisted names the parameter `address`.
    aliases: { address: 'path' },
    build: (r) =>
      defined({
        kind: 'unix',
        path: unixPath(r),
        mode: unixMode(r),
        backlog: r.optionalInteger('backlog'),
        lockfile: lockfile(r),
      }),
  },
  ssl: {
    params: [
      'port',
      'privateKey',
      'certKey',
      'sslmethod',
      'interface',
      'backlog',
      'extraCertChain',
      'dhParameters',
    ],
    build: (r) => {
      const privateKey = r.path('privateKey', DEFAULT_PRIVATE_KEY) ?? DEFAULT_PRIVATE_KEY
      return defined({
        kind: 'ssl',
        port: r.port(),
        host: r.host(''),
        privateKey,
        certKey: r.path('certKey', privateKey) ?? privateKey,
        extraCertChain: r.path('extraCertChain'),
        dhParameters: r.path('dhParameters'),
        backlog: r.optionalInteger('backlog'),
        sslmethod: r.args.get('sslmethod')?.value,
      })
    },
  },
  fd: {
    params: ['fileno', 'domain'],
    build: (r) => ({
      kind: 'fd',
      fileno: r.integer('fileno', r.required('fileno'), MAX_INT, 'expected a non-negative integer'),
      ...fdDomain(r),
    }),
  },
}

/** The endpoint types `parseEndpoint` understands, in the order error messages list them. */
export const ENDPOINT_TYPES = Object.keys(SPECS)

/** Gather positionals (in parameter order) and keywords into one map, like a Python call. */
function collectArgs(
  description: string,
  type: string,
  spec: EndpointSpec,
  segments: readonly Segment[],
): Map<string, Arg> {
  const fail = (subject: string, seg: Segment, detail?: string) =>
    endpointSyntaxError(
      description,
      `${subject} for '${type}' endpoint${detail ? ` ${detail}` : ''}`,
      seg.start,
      seg.end,
    )
  const args = new Map<string, Arg>()
  // Positionals bind first and keywords after, whatever their order: `parser(*args, **kw)`.
  segments
    .filter((seg) => seg.key === undefined)
    .forEach((seg, i) => {
      const name = spec.params[i]
      if (name === undefined) {
        const detail = `(at most ${spec.params.length}: ${spec.params.join(', ')})`
        throw fail(`Unexpected positional argument '${seg.value}'`, seg, detail)
      }
      args.set(name, { value: seg.value, start: seg.start, end: seg.end })
    })
  for (const seg of segments) {
    const key = seg.key
    if (key === undefined) continue
    const name = spec.aliases?.[key] ?? (spec.params.includes(key) ? key : undefined)
    if (name === undefined) {
      const known = [...spec.params, ...Object.keys(spec.aliases ?? {})]
      const hint = known.find((k) => k.toLowerCase() === key.toLowerCase())
      const help = hint ? `did you mean '${hint}'?` : `expected one of: ${spec.params.join(', ')}`
      throw fail(`Unknown keyword '${key}'`, seg, `(${help})`)
    }
    const previous = args.get(name)
    if (previous?.key !== undefined) {
      const same = previous.key === key ? undefined : `(same as '${previous.key}')`
      throw fail(`Duplicate keyword '${key}'`, seg, same)
    }
    if (previous) {
      const both = `'${name}' given both positionally ('${previous.value}')`
      throw fail(`${both} and as keyword '${key}'`, seg)
    }
    args.set(name, { value: seg.value, start: seg.valueStart, end: seg.end, key })
  }
  return args
}

/** An empty segment between two `:` is almost always an unescaped IPv6 address. */
const IPV6_HINT = String.raw`hint: escape each ':' of an IPv6 address as '\:', e.g. interface=\:\:1`

/**
 * Parse one strports description, e.g. `tcp:port=8000:interface=127.0.0.1` or `unix:/tmp/s.sock`.
 * The type is case-insensitive; keywords are case-sensitive, as in Twisted.
 * @throws EndpointSyntaxError naming the bad part, with its offset and a caret line.
 */
export function parseEndpoint(description: string): Endpoint {
  if (description === '') {
    const message = "Empty endpoint description; expected e.g. 'tcp:8000'"
    throw endpointSyntaxError(description, message, 0)
  }
  const segments = tokenize(description)
  const [head, ...rest] = segments
  if (!head) throw endpointSyntaxError(description, 'Empty endpoint description', 0)
  if (head.key !== undefined) {
    throw endpointSyntaxError(
      description,
      `Endpoint must start with its type, e.g. 'tcp:8000', not keyword '${head.key}'`,
      head.start,
      head.end,
    )
  }
  const type = head.value.toLowerCase()
  const spec = SPECS[type]
  if (!spec) {
    throw endpointSyntaxError(
      description,
      `Unknown endpoint type: '${type}'; supported: ${ENDPOINT_TYPES.join(', ')}`,
      head.start,
      head.end,
    )
  }
  try {
    return spec.build(new ArgReader(description, type, collectArgs(description, type, spec, rest)))
  } catch (error) {
    const emptyMiddle = rest.slice(0, -1).some((s) => s.key === undefined && s.start === s.end)
    if (error instanceof EndpointSyntaxError && emptyMiddle) {
      throw new EndpointSyntaxError(`${error.message}\n  ${IPV6_HINT}`)
    }
    throw error
  }
}
