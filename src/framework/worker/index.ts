/**
 * The worker: an application's `channel` scopes run for named channels of a channel layer
 * (`channels runworker`).
 * @module
 */
export { Worker } from './worker.js'
export type { WorkerOptions } from './worker.js'
