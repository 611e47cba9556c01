/**
 * runserver's watchdog, as Django's reloader runs the server in a child process. The parent
 * (`runSupervised`) starts `channels runserver …` again as a child that beats every half second
 * over IPC (`connectToSupervisor`); hot reload stays inside the child, so reloads keep every
 * connection. When the beats stop for the stuck timeout (user code that never yields, such as
 * `while (true) {}` at import), the parent kills the child and starts a fresh one on the same
 * port; a child that gets stuck again while starting is restarted when a file changes. SIGINT and
 * SIGTERM stop the child (politely, then SIGKILL) and then the parent.
 *
 * This module is the whole parent process: it imports next to nothing (no colours either), so
 * cold start pays for little more than one extra Node process.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { extname } from 'node:path'
import { watchParent } from '../parent-watch.js'
import type { ProjectWatcher } from './watcher.js'

/** Set in the child's environment (Django's RUN_MAIN). */
export const CHILD_ENV = 'CHANNELS_RUNSERVER_CHILD'
/** The port a restarted child binds: the one the first child announced. */
const PORT_ENV = 'CHANNELS_RUNSERVER_PORT'
/** Seconds without a heartbeat before the child is restarted; 0 runs without a supervisor. */
export const STUCK_TIMEOUT_ENV = 'CHANNELS_RUNSERVER_STUCK_TIMEOUT'

const DEFAULT_STUCK_TIMEOUT_S = 5
const HEARTBEAT_MS = 500
const CHECK_MS = 250
/** How long a stop request may take before the child is killed. */
const STOP_GRACE_MS = 10_000
/** While stopping, a child this long without a beat is stuck: no reason to wait any longer. */
const STOPPING_STUCK_MS = 2_000

type ChildMessage =
  { type: 'beat' } | { type: 'project'; dir: string } | { type: 'serving'; port: number }

type ParentMessage = { type: 'stop' }

/** Read the stuck timeout (seconds) from the environment; throws a readable error. */
export function stuckTimeout(env: Record<string, string | undefined>): number {
  const raw = env[STUCK_TIMEOUT_ENV]
  if (raw === undefined || raw.trim() === '') return DEFAULT_STUCK_TIMEOUT_S
  const seconds = Number(raw)
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new Error(
      `${STUCK_TIMEOUT_ENV} must be a number of seconds (0 turns the watchdog off), got '${raw}'.`,
    )
  }
  return seconds
}

/**
 * Whether `channels <argv>` runs under the supervisor: runserver with reloading, not already the
 * child, not under a debugger (whose breakpoints stop the beats), and the watchdog not turned off.
 * Anything else, usage errors included, goes straight to the CLI.
 */
export function wantsSupervisor(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): boolean {
  if (argv[0] !== 'runserver' || env[CHILD_ENV] === '1') return false
  if (argv.some((arg) => arg === '--noreload' || arg === '-h' || arg === '--help')) return false
  const nodeOptions = [...process.execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)]
  if (nodeOptions.some((option) => option.startsWith('--inspect'))) return false
  try {
    return stuckTimeout(env) > 0
  } catch {
    // runSupervised reports it.
    return true
  }
}

/** Options for {@link runSupervised}; the defaults are the real process. */
export interface SupervisorOptions {
  env?: Record<string, string | undefined>
  /** The script to run as the child (this CLI's bin). */
  script?: string
  stderr?: (text: string) => void
}

/** What ended one child. */
type Outcome =
  { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null } | { kind: 'stuck' }

/** One child process and what the parent learned about it. */
interface ChildRun {
  child: ChildProcess
  outcome: Promise<Outcome>
  /** It beat at least once: it listens for the stop message. */
  connected: boolean
  /** It listened and printed its banner. */
  served: boolean
  /** The parent watched the project's files when it started (see mustWaitForChange). */
  watchedFromStart: boolean
  changesAtStart: number
}

/** Run `channels <argv>` as a supervised child until it stops; resolves to the exit code. */
export async function runSupervised(
  argv: readonly string[],
  options: SupervisorOptions = {},
): Promise<number> {
  const env = options.env ?? process.env
  const write = options.stderr ?? ((text: string) => void process.stderr.write(text))
  let timeoutMs: number
  try {
    timeoutMs = stuckTimeout(env) * 1000
  } catch (error) {
    write(`${(error as Error).message}\n`)
    return 1
  }
  const supervisor = new Supervisor(argv, env, options.script ?? process.argv[1] ?? '', {
    timeoutMs,
    write: (line) => write(`${line}\n`),
  })
  return supervisor.run()
}

class Supervisor {
  private current: ChildRun | undefined
  private stopping = false
  private killedOnStop = false
  private graceTimer: NodeJS.Timeout | undefined
  private port: number | undefined
  private projectDir: string | undefined
  private watcher: ProjectWatcher | undefined
  private changes = 0
  private wakeUp: (() => void) | undefined

  constructor(
    private readonly argv: readonly string[],
    private readonly env: Record<string, string | undefined>,
    private readonly script: string,
    private readonly io: { timeoutMs: number; write: (line: string) => void },
  ) {}

  async run(): Promise<number> {
    const onSignal = () => this.stop()
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    // npm's `sh -c` dies of SIGTERM without passing it on (parent-watch.ts).
    const unwatchParent = watchParent(this.env, () => this.stop())
    try {
      for (;;) {
        if (this.stopping) return 0
        const run = this.start()
        const outcome = await run.outcome
        if (outcome.kind === 'exited') return this.exitCode(outcome)
        // stop() may have run while the child ran: TypeScript keeps the narrowing from above.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
        if (this.stopping) {
          this.io.write('The server process was stuck; killed it.')
          return 1
        }
        await this.watchProject()
        const wait = this.mustWaitForChange(run)
        this.reportStuck(wait)
        if (wait && !(await this.nextChange())) return 0
      }
    } finally {
      clearTimeout(this.graceTimer)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      unwatchParent()
      await this.watcher?.close()
    }
  }

  /** The child's exit, as the parent's exit code. */
  private exitCode(outcome: Extract<Outcome, { kind: 'exited' }>): number {
    const { write } = this.io
    if (this.killedOnStop) {
      write(`The server process did not stop within ${STOP_GRACE_MS / 1000} s; killed it.`)
      return 1
    }
    if (this.stopping) return outcome.code ?? 0
    if (outcome.code !== null) return outcome.code
    write(`The server process was killed (${outcome.signal ?? 'no exit code'}).`)
    return 1
  }

  private reportStuck(waitForChange: boolean): void {
    const seconds = this.io.timeoutMs / 1000
    const what = waitForChange
      ? `The server has not answered for ${seconds} s while starting again`
      : `The server has not answered for ${seconds} s`
    const next = waitForChange
      ? 'It restarts when you save a file.'
      : 'Restarting the server process; its open connections are closed.'
    this.io.write(
      `${what}: its event loop is stuck in code that never yields (such as ` +
        `\`while (true) {}\`). ${next}`,
    )
  }

  /**
   * Restarting at once is right after a stuck request or reload; a child that got stuck before it
   * served, with no file changed since it started, would only get stuck again.
   */
  private mustWaitForChange(run: ChildRun): boolean {
    return !run.served && run.watchedFromStart && this.changes === run.changesAtStart
  }

  private start(): ChildRun {
    const env: Record<string, string | undefined> = { ...this.env, [CHILD_ENV]: '1' }
    if (this.port !== undefined) env[PORT_ENV] = String(this.port)
    const child = spawn(process.execPath, [...process.execArgv, this.script, ...this.argv], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env,
      // Its own process group: killing it takes its esbuild service along (which would otherwise
      // print a Go panic), and the terminal's Ctrl-C reaches the parent only, which passes it on.
      detached: GROUPS,
    })
    const run: ChildRun = {
      child,
      outcome: undefined as unknown as Promise<Outcome>,
      connected: false,
      served: false,
      watchedFromStart: this.watcher !== undefined,
      changesAtStart: this.changes,
    }
    let lastBeat: number | undefined
    child.on('message', (message: ChildMessage) => {
      switch (message.type) {
        case 'beat':
          lastBeat = performance.now()
          run.connected = true
          break
        case 'project':
          this.projectDir = message.dir
          break
        case 'serving':
          run.served = true
          this.port = message.port
          void this.stopWatching()
      }
    })
    run.outcome = new Promise<Outcome>((resolve) => {
      let stuckFor: number | undefined
      let lastCheck = performance.now()
      const check = setInterval(() => {
        const now = performance.now()
        // The parent itself was not running (a suspended laptop): nothing to blame the child for.
        if (now - lastCheck > CHECK_MS + 1000 && lastBeat !== undefined) lastBeat = now
        lastCheck = now
        if (lastBeat === undefined || stuckFor !== undefined) return
        const silent = now - lastBeat
        const limit = this.stopping
          ? Math.min(this.io.timeoutMs, STOPPING_STUCK_MS)
          : this.io.timeoutMs
        if (silent < limit) return
        stuckFor = silent
        kill(child)
      }, CHECK_MS)
      child.once('exit', (code, signal) => {
        clearInterval(check)
        if (this.current === run) this.current = undefined
        resolve(stuckFor === undefined ? { kind: 'exited', code, signal } : { kind: 'stuck' })
      })
      child.once('error', (error) => {
        // Only a failed spawn leaves no process to exit (kill and send errors are handled).
        if (child.pid !== undefined) return
        clearInterval(check)
        this.io.write(`Cannot start the server process: ${error.message}`)
        resolve({ kind: 'exited', code: 1, signal: null })
      })
    })
    this.current = run
    return run
  }

  /** SIGINT/SIGTERM: ask the child to stop; a second signal kills it. */
  private stop(): void {
    this.wakeUp?.()
    if (this.stopping) {
      if (this.current) kill(this.current.child)
      return
    }
    this.stopping = true
    if (this.current) this.askToStop(this.current)
  }

  private askToStop(run: ChildRun): void {
    const { child } = run
    // Before its first beat the child listens to no message yet, and a signal stops it at once.
    if (run.connected && child.connected)
      child.send({ type: 'stop' } satisfies ParentMessage, () => undefined)
    else child.kill('SIGTERM')
    this.graceTimer = setTimeout(() => {
      this.killedOnStop = true
      kill(child)
    }, STOP_GRACE_MS)
  }

  /**
   * Watch the project's code files (from the first stuck child until a child serves again); what
   * the stuck code itself writes, a log or a database, is no reason to restart.
   */
  private async watchProject(): Promise<void> {
    if (this.watcher) return
    const [{ watchProject }, { CODE_EXTENSIONS }] = await Promise.all([
      import('./watcher.js'),
      import('./reloader.js'),
    ])
    this.watcher = watchProject(this.projectDir ?? process.cwd(), (paths) => {
      if (!paths.some((path) => CODE_EXTENSIONS.has(extname(path)))) return
      this.changes++
      this.wakeUp?.()
    })
    await this.watcher.ready
  }

  private async stopWatching(): Promise<void> {
    const watcher = this.watcher
    this.watcher = undefined
    await watcher?.close()
  }

  /** Resolves true on the next file change, false when asked to stop. */
  private nextChange(): Promise<boolean> {
    const seen = this.changes
    return new Promise((resolve) => {
      this.wakeUp = () => {
        this.wakeUp = undefined
        resolve(!this.stopping && this.changes !== seen)
      }
    })
  }
}

/** Process groups exist on POSIX; on Windows a detached child would get its own console. */
const GROUPS = process.platform !== 'win32'

/** SIGKILL the child and everything it started. */
function kill(child: ChildProcess): void {
  if (GROUPS && child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL')
      return
    } catch {
      // The group is gone already; the child itself may not be.
    }
  }
  child.kill('SIGKILL')
}

/** A port free on `host` now; 0 (the server picks) when the host cannot be bound. */
async function freePort(host: string): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(0))
    probe.listen(0, host, () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}

/** The child's side: heartbeats, the supervisor's stop request, what the parent must know. */
export interface SupervisorLink {
  /** Aborts when the supervisor asks the server to stop, or goes away. */
  readonly stopped: AbortSignal
  /**
   * The port to listen on: the first server's after a restart. Port 0 becomes a free port picked
   * here: Linux keeps a port that was bound as port 0 unavailable to uWebSockets.js while the
   * killed server's connections linger in TIME_WAIT, an explicitly bound one not.
   */
  listenPort(addr: string, port: number): Promise<number>
  /** Tell the supervisor which folder to watch if this child gets stuck. */
  project(dir: string): void
  /** Tell the supervisor the server listens on `port`. */
  serving(port: number): void
  close(): void
}

/** Connect to the supervisor when this process is its child; undefined otherwise. */
export function connectToSupervisor(
  env: Record<string, string | undefined>,
): SupervisorLink | undefined {
  const send = process.send?.bind(process)
  if (env[CHILD_ENV] !== '1' || !send) return undefined
  const controller = new AbortController()
  const tell = (message: ChildMessage) => {
    // The callback swallows the error of a parent that has gone (the disconnect stops us).
    if (process.connected) send(message, undefined, undefined, () => undefined)
  }
  // { type: 'stop' } is the only message the supervisor sends.
  const onMessage = (_message: ParentMessage) => controller.abort('stop')
  const onDisconnect = () => controller.abort('supervisor gone')
  process.on('message', onMessage)
  process.on('disconnect', onDisconnect)
  // The channel alone never keeps the server process alive.
  process.channel?.unref()
  const beat = setInterval(() => tell({ type: 'beat' }), HEARTBEAT_MS)
  beat.unref()
  tell({ type: 'beat' })
  const previous = Number(env[PORT_ENV])
  return {
    stopped: controller.signal,
    async listenPort(addr, port) {
      if (Number.isInteger(previous) && previous > 0) return previous
      return port === 0 ? freePort(addr) : port
    },
    project: (dir) => tell({ type: 'project', dir }),
    serving: (port) => tell({ type: 'serving', port }),
    close() {
      clearInterval(beat)
      process.off('message', onMessage)
      process.off('disconnect', onDisconnect)
    },
  }
}
