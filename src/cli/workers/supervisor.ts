/**
 * `channels serve --workers N`: this process becomes a supervisor (node:cluster's primary) that
 * runs N workers, each a `channels serve` of the same command line serving the same endpoints
 * (worker.ts). On the uWS reactor each worker listens on the port itself with SO_REUSEPORT and
 * the kernel spreads new connections over them; on the node reactor the supervisor holds the
 * listening socket and hands each new connection to the next worker (cluster's round-robin).
 *
 * Worker 1 starts first and alone: a project that cannot start (an error in the application, a
 * port taken meanwhile) fails once, with its own message, and the supervisor exits with its exit
 * code instead of starting N copies of the failure. Then the others start. A worker that dies is
 * logged and started again (backoff.ts); the others keep serving. SIGINT/SIGTERM ask every worker
 * to stop gracefully (each does what a single `serve` does), and the supervisor exits 0 once all
 * have; a worker still running after `stopGraceMs`, or a second signal, is killed.
 * @module
 */
import cluster, { type Worker } from 'node:cluster'
import { getLogger } from '../../framework/asgi/logging.js'
import { formatEndpoint } from '../../server/endpoints/format.js'
import type { Endpoint } from '../../server/endpoints/types.js'
import { Backoff } from './backoff.js'
import {
  WORKER_ID_ENV,
  WORKER_SETUP_ENV,
  type SupervisorMessage,
  type WorkerMessage,
  type WorkerSetup,
} from './protocol.js'

const logger = getLogger('channels.workers')

/** Options for {@link superviseWorkers}. */
export interface SupervisorOptions {
  workers: number
  /** The endpoints, TCP ports already checked free and resolved (ports.ts). */
  endpoints: readonly Endpoint[]
  /** How long stopping workers may take before they are killed. */
  stopGraceMs: number
  /** Aborts on the first SIGINT/SIGTERM (or when npm's shell went away). */
  shutdown: AbortSignal
}

/** One worker's place: worker `id` is started again in it when it dies. */
interface Slot {
  id: number
  worker: Worker | null
  startedAt: number
  /** It reported listening: it serves, and it takes a stop message. */
  listening: boolean
  backoff: Backoff
  restart: NodeJS.Timeout | null
}

type ExitStatus = { code: number | null; signal: string | null }

/** Run the workers until the shutdown signal and their graceful stop; resolves to the exit code. */
export async function superviseWorkers(options: SupervisorOptions): Promise<number> {
  return new Supervisor(options).run()
}

class Supervisor {
  private readonly slots: Slot[]
  private readonly setup: WorkerSetup
  private stopping = false
  private forced = false
  private allListening = false
  private graceTimer: NodeJS.Timeout | undefined
  /** Worker 1's first start: resolves with null once it listens, or with how it ended. */
  private first: ((status: ExitStatus | null) => void) | null = null
  private finished: (() => void) | null = null

  constructor(private readonly options: SupervisorOptions) {
    this.setup = { workers: options.workers, endpoints: options.endpoints.map(formatEndpoint) }
    this.slots = Array.from({ length: options.workers }, (_, index) => ({
      id: index + 1,
      worker: null,
      startedAt: 0,
      listening: false,
      backoff: new Backoff(),
      restart: null,
    }))
  }

  async run(): Promise<number> {
    // Round-robin is node's default on Linux but not on Windows; say it, whatever the platform.
    cluster.schedulingPolicy = cluster.SCHED_RR
    // Each worker runs this very command line; worker.ts tells it apart by its environment.
    cluster.setupPrimary({ exec: process.argv[1], args: process.argv.slice(2) })
    const { shutdown } = this.options
    const onSignal = (signal: NodeJS.Signals) => this.stop(signal)
    const onShutdown = () => {
      this.stop(String(shutdown.reason))
      // The shutdown signal's own handlers are gone now: the next signal forces the stop.
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    }
    shutdown.addEventListener('abort', onShutdown, { once: true })
    try {
      logger.info(`Supervisor (pid ${process.pid}) starting ${this.options.workers} workers`)
      const firstStart = new Promise<ExitStatus | null>((resolve) => (this.first = resolve))
      const done = new Promise<void>((resolve) => (this.finished = resolve))
      if (shutdown.aborted) return 0
      this.start(this.slots[0]!)
      const failed = await firstStart
      if (failed !== null && !this.stopping) {
        logger.error(`Worker 1 could not start (${describeExit(failed)}); not starting the others.`)
        return failed.code !== null && failed.code !== 0 ? failed.code : 1
      }
      for (const slot of this.slots.slice(1)) if (!this.stopping) this.start(slot)
      this.checkAllListening()
      await done
      return this.forced ? 1 : 0
    } finally {
      clearTimeout(this.graceTimer)
      for (const slot of this.slots) clearTimeout(slot.restart ?? undefined)
      shutdown.removeEventListener('abort', onShutdown)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }

  private start(slot: Slot): void {
    slot.restart = null
    slot.listening = false
    slot.startedAt = performance.now()
    const worker = cluster.fork({
      [WORKER_ID_ENV]: String(slot.id),
      [WORKER_SETUP_ENV]: JSON.stringify(this.setup),
    })
    slot.worker = worker
    const pid = worker.process.pid ?? '?'
    logger.info(`Worker ${slot.id} started (pid ${pid})`)
    worker.on('message', (_message: WorkerMessage) => {
      // 'listening' is the one message a worker sends.
      if (slot.worker !== worker) return
      slot.listening = true
      if (this.stopping) {
        this.askToStop(slot)
        return
      }
      if (slot.id === 1 && this.first) {
        this.first(null)
        this.first = null
      }
      this.checkAllListening()
    })
    // A failed spawn, or a signal to a process already gone: its 'exit' (if any) says the rest.
    worker.on('error', (error: Error) => logger.warn(`Worker ${slot.id}: ${error.message}`))
    worker.once('exit', (code: number | null, signal: string | null) =>
      this.exited(slot, worker, { code, signal }),
    )
  }

  private exited(slot: Slot, worker: Worker, status: ExitStatus): void {
    if (slot.worker !== worker) return
    slot.worker = null
    slot.listening = false
    const pid = worker.process.pid ?? '?'
    if (this.stopping) {
      if (this.slots.every((s) => s.worker === null)) this.finished?.()
      return
    }
    if (slot.id === 1 && this.first) {
      this.first(status)
      this.first = null
      return
    }
    const delay = slot.backoff.died(performance.now() - slot.startedAt)
    const when = delay === 0 ? '' : ` in ${delay / 1000} s`
    logger.warn(`Worker ${slot.id} (pid ${pid}) ${describeExit(status)}; restarting it${when}`)
    slot.restart = setTimeout(() => this.start(slot), delay)
  }

  private checkAllListening(): void {
    if (this.allListening || !this.slots.every((slot) => slot.listening)) return
    this.allListening = true
    logger.info(`All ${this.slots.length} workers are listening`)
  }

  /** The first signal stops every worker gracefully; a second one kills them. */
  private stop(reason: string): void {
    if (this.stopping) {
      this.forced = true
      logger.warn(`${reason} again: killing the workers`)
      for (const slot of this.slots) slot.worker?.process.kill('SIGKILL')
      return
    }
    this.stopping = true
    this.first?.(null)
    this.first = null
    const live = this.slots.filter((slot) => slot.worker !== null)
    logger.info(`Stopping ${live.length} workers (${reason})`)
    for (const slot of this.slots) {
      clearTimeout(slot.restart ?? undefined)
      slot.restart = null
      this.askToStop(slot)
    }
    if (live.length === 0) {
      this.finished?.()
      return
    }
    this.graceTimer = setTimeout(() => this.killStragglers(), this.options.stopGraceMs)
    this.graceTimer.unref()
  }

  /** A listening worker stops gracefully on the message; one still starting serves nothing yet. */
  private askToStop(slot: Slot): void {
    const worker = slot.worker
    if (worker === null) return
    if (slot.listening && worker.isConnected())
      worker.send({ type: 'stop' } satisfies SupervisorMessage, undefined, () => undefined)
    else worker.process.kill('SIGTERM')
  }

  private killStragglers(): void {
    const seconds = this.options.stopGraceMs / 1000
    for (const slot of this.slots) {
      if (slot.worker === null) continue
      this.forced = true
      const pid = slot.worker.process.pid ?? '?'
      logger.error(`Worker ${slot.id} (pid ${pid}) did not stop within ${seconds} s; killed it`)
      slot.worker.process.kill('SIGKILL')
    }
  }
}

/** `exited with code 1`, `was killed by SIGKILL`. */
function describeExit(status: ExitStatus): string {
  if (status.signal !== null) return `was killed by ${status.signal}`
  return `exited with code ${status.code ?? '?'}`
}
