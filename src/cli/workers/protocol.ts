/**
 * What a `channels serve --workers N` supervisor and its workers tell each other: the environment
 * a worker starts with, and the messages over the cluster's IPC channel.
 * @module
 */

/** A worker's number, 1..N, in its environment; user code may read it too. */
export const WORKER_ID_ENV = 'CHANNELS_WORKER_ID'
/** The supervisor's instructions to a worker ({@link WorkerSetup} as JSON); read once, then removed. */
export const WORKER_SETUP_ENV = 'CHANNELS_WORKER_SETUP'

/** How one worker is to serve. */
export interface WorkerSetup {
  /** How many workers share the endpoints. */
  workers: number
  /**
   * The endpoints as description strings, port 0 already replaced by the port the supervisor
   * found free, so every worker listens on the same one.
   */
  endpoints: string[]
}

/** Worker → supervisor. */
export type WorkerMessage = { type: 'listening' }

/** Supervisor → worker. */
export type SupervisorMessage = { type: 'stop' }
