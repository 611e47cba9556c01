/**
 * Errors the CLI reports without a stack trace: a user mistake (bad flag, missing setting, busy
 * port), printed in red by `main`, which then returns the carried exit code.
 * @module
 */

/** A command-line or configuration error (Django's CommandError); exit code 1 by default. */
export class CommandError extends Error {
  readonly exitCode: number
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options)
    this.name = 'CommandError'
    this.exitCode = options?.exitCode ?? 1
  }
}
