/**
 * The worker's side of `channels serve --workers N`: a worker is a cluster worker started by the
 * supervisor (supervisor.ts) with its id and setup in its environment. It serves as a single
 * `serve` does, on the supervisor's endpoints and without exclusive listening, reports when it
 * listens, and stops gracefully when the supervisor asks.
 * @module
 */
import cluster from 'node:cluster'
import {
  WORKER_ID_ENV,
  WORKER_SETUP_ENV,
  type SupervisorMessage,
  type WorkerMessage,
  type WorkerSetup,
} from './protocol.js'

/** A worker's connection to its supervisor. */
export interface WorkerLink extends WorkerSetup {
  /** This worker's number, 1..N. */
  id: number
  /** Aborts when the supervisor asks this worker to stop. */
  readonly stopped: AbortSignal
  /** Tell the supervisor this worker listens on every endpoint. */
  listening(): void
  close(): void
}

/** The link when this process is a supervisor's worker; undefined for a single server. */
export function connectToSupervisor(
  env: Record<string, string | undefined>,
): WorkerLink | undefined {
  const raw = env[WORKER_SETUP_ENV]
  if (!cluster.isWorker || raw === undefined) return undefined
  // User code gets the id, not the setup (a `channels serve` it starts is no worker).
  Reflect.deleteProperty(env, WORKER_SETUP_ENV)
  const setup = JSON.parse(raw) as WorkerSetup
  const controller = new AbortController()
  // { type: 'stop' } is the only message the supervisor sends.
  const onMessage = (_message: SupervisorMessage) => controller.abort('stop')
  process.on('message', onMessage)
  return {
    ...setup,
    id: Number(env[WORKER_ID_ENV]),
    stopped: controller.signal,
    listening: () => tell({ type: 'listening' }),
    close: () => process.off('message', onMessage),
  }
}

function tell(message: WorkerMessage): void {
  // A supervisor that is gone disconnects us, and node's cluster ends the worker then.
  if (process.connected) process.send?.(message, undefined, undefined, () => undefined)
}
