/**
 * The CLI's window on the world: writers, colours, environment, working folder, and how a
 * long-running command learns it should stop. `main` builds the real one; tests pass fakes.
 * @module
 */
import kleur from 'kleur'
import type { Application } from '../framework/asgi/types.js'
import type { Endpoint } from '../server/endpoints/types.js'
import type { RunserverStyle } from '../server/access-log.js'
import type { ServerOptions } from '../server/config.js'
import type { Server } from '../server/server.js'
import { watchParent } from './parent-watch.js'

/** What the CLI needs of a running server (a structural slice of src/server's). */
export interface CliServer {
  start(): Promise<CliServerStarted>
  stop(): Promise<void>
  /** The dashboard's hooks (src/server has them; a stand-in server may not). */
  mount?(prefix: string, app: Application): void
  inspect?: Server['inspect']
  closeConnection?(id: number, code?: number, reason?: string): boolean
  retainScopes?(): void
  noteConnections?(): void
}

/** What `start()` reports. */
export interface CliServerStarted {
  reactor: string
  engine: string
  warning?: string
  listeners: readonly { endpoint: Endpoint; address: ListenAddress }[]
}

/** A bound address as the reactor reports it. */
export type ListenAddress =
  | { kind: 'tcp' | 'ssl'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'fd'; fileno: number }

/** The server factory seam (Daphne's `server_class`). */
export type CreateServer = (
  app: Application,
  endpoints: Endpoint[],
  options: ServerOptions,
) => CliServer

/** Injectable dependencies of `main`. Everything is optional; defaults are the real process. */
export interface CliDeps {
  createServer?: CreateServer
  stdout?: (text: string) => void
  stderr?: (text: string) => void
  env?: Record<string, string | undefined>
  cwd?: string
  /** Colour output (default: a TTY on stderr, or FORCE_COLOR set, and NO_COLOR unset). */
  color?: boolean
  /** Long-running commands stop when this aborts (default: on SIGINT or SIGTERM). */
  shutdown?: AbortSignal
  /** The clock for the banner's date line. */
  now?: () => Date
}

/** Resolved dependencies, as command modules receive them. */
export interface CliContext {
  createServer: () => Promise<CreateServer>
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: Record<string, string | undefined>
  cwd: string
  color: boolean
  paint: Paint
  shutdown: () => AbortSignal
  now: () => Date
}

/** Colour functions that are identity when colour is off. */
export interface Paint {
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  cyan(text: string): string
  magenta(text: string): string
  bold(text: string): string
  dim(text: string): string
  /** Django's termcolors role for a runserver line. */
  style(role: RunserverStyle | null, text: string): string
}

/** Colours on or off; kleur's own TTY detection is bypassed so the choice is ours. */
export function createPaint(enabled: boolean): Paint {
  kleur.enabled = true
  const wrap = (fn: (text: string) => string) => (text: string) => (enabled ? fn(text) : text)
  // Django's DARK_PALETTE for the HTTP_* roles (django/utils/termcolors.py).
  const roles: Record<RunserverStyle, (text: string) => string> = {
    info: (t) => kleur.bold(t),
    success: (t) => t,
    notModified: (t) => kleur.cyan(t),
    redirect: (t) => kleur.green(t),
    notFound: (t) => kleur.yellow(t),
    badRequest: (t) => kleur.red().bold(t),
    serverError: (t) => kleur.magenta().bold(t),
  }
  return {
    red: wrap((t) => kleur.red(t)),
    green: wrap((t) => kleur.green(t)),
    yellow: wrap((t) => kleur.yellow(t)),
    cyan: wrap((t) => kleur.cyan(t)),
    magenta: wrap((t) => kleur.magenta(t)),
    bold: wrap((t) => kleur.bold(t)),
    dim: wrap((t) => kleur.dim(t)),
    style: (role, text) => (enabled && role ? roles[role](text) : text),
  }
}

/** Colour decision: FORCE_COLOR wins (`0`/`false` force it off), then NO_COLOR, then a TTY on stderr. */
export function wantsColor(env: Record<string, string | undefined>, isTTY: boolean): boolean {
  const force = env.FORCE_COLOR
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false'
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return isTTY
}

/** Fill in the defaults for `deps`. */
export function createContext(deps: CliDeps = {}): CliContext {
  const env = deps.env ?? process.env
  const color = deps.color ?? wantsColor(env, process.stderr.isTTY)
  let shutdown = deps.shutdown
  const stderr = deps.stderr ?? ((text: string) => void process.stderr.write(text))
  return {
    createServer: async () => {
      if (deps.createServer) return deps.createServer
      const server = await import('../server/index.js')
      return server.createServer
    },
    stdout: deps.stdout ?? ((text) => void process.stdout.write(text)),
    stderr,
    env,
    cwd: deps.cwd ?? process.cwd(),
    color,
    paint: createPaint(color),
    shutdown: () => (shutdown ??= signalShutdown(env, stderr)),
    now: deps.now ?? (() => new Date()),
  }
}

/** Handled signals: Ctrl-C and the polite kill both stop the server gracefully. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']

/** Aborts on SIGINT/SIGTERM, or when npm started us and our parent exited (`watchParent`). */
function signalShutdown(
  env: Record<string, string | undefined>,
  stderr: (text: string) => void,
): AbortSignal {
  const controller = new AbortController()
  const stop = (reason: string) => {
    for (const s of STOP_SIGNALS) process.off(s, onSignal)
    unwatch()
    controller.abort(reason)
  }
  const onSignal = (signal: NodeJS.Signals) => stop(signal)
  for (const s of STOP_SIGNALS) process.on(s, onSignal)
  const unwatch = watchParent(env, () => {
    stderr('Parent process exited; shutting down.\n')
    stop('parent exited')
  })
  return controller.signal
}

/** Resolves when `signal` aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}
