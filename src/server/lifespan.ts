/**
 * The ASGI lifespan protocol: one app instance for the server's lifetime, told
 * `lifespan.startup` before listening and `lifespan.shutdown` after the last connection.
 * In `auto` mode an app that raises (or returns) before answering startup — e.g.
 * ProtocolTypeRouter's "No application configured for scope type 'lifespan'" — simply does not
 * support lifespan: that is logged at debug level, not as an error.
 * @module
 */
import { AsgiProtocolError } from '../framework/asgi/errors.js'
import type { Application, LifespanReceiveEvent, LifespanScope } from '../framework/asgi/types.js'
import { log, messageType } from './connection.js'
import { ReceiveQueue } from './receive-queue.js'
import { describeValue } from '../util/describe.js'

type Outcome = { ok: true; unsupported?: boolean } | { ok: false; message: string; error?: unknown }

/** Raised by `startup()` when the app reports `lifespan.startup.failed` (or crashes in `on` mode). */
export class LifespanStartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LifespanStartupError'
  }
}

/** Drives one lifespan app instance. */
export class Lifespan {
  private readonly queue = new ReceiveQueue<LifespanReceiveEvent>()
  private waiter: ((outcome: Outcome) => void) | null = null
  private expecting: 'startup' | 'shutdown' | null = null
  private done = false
  private supported = false
  /** The scope's `state`, shared (shallow-copied) into every connection scope; null if unsupported. */
  state: Record<string, unknown> | null = null

  constructor(
    private readonly app: Application,
    private readonly mode: 'auto' | 'on' | 'off',
    private readonly shutdownTimeout: number,
  ) {}

  /** Run startup; resolves when the app is ready (or does not speak lifespan in `auto` mode). */
  async startup(): Promise<void> {
    if (this.mode === 'off') return
    const state: Record<string, unknown> = {}
    const scope: LifespanScope = {
      type: 'lifespan',
      asgi: { version: '3.0', spec_version: '2.0' },
      state,
    }
    const outcome = this.expect('startup')
    this.queue.push({ type: 'lifespan.startup' })
    let promise: Promise<void>
    try {
      promise = Promise.resolve(
        this.app(scope, this.queue.receive as never, (message) => this.send(message)),
      )
    } catch (error) {
      promise = Promise.reject(error)
    }
    promise.then(
      () => this.finished(null),
      (error: unknown) => this.finished(error ?? new Error('lifespan application rejected')),
    )
    const result = await outcome
    if (result.ok) {
      if (result.unsupported) return
      this.supported = true
      this.state = state
      return
    }
    throw new LifespanStartupError(result.message, { cause: result.error })
  }

  /** Run shutdown (waits at most `shutdownTimeout`); failures are logged, never thrown. */
  async shutdown(): Promise<void> {
    if (!this.supported || this.done) return
    const outcome = this.expect('shutdown')
    this.queue.push({ type: 'lifespan.shutdown' })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            ok: false,
            message: `Lifespan shutdown did not complete within ${this.shutdownTimeout} ms.`,
          }),
        this.shutdownTimeout,
      )
    })
    const result = await Promise.race([outcome, timeout])
    clearTimeout(timer)
    if (!result.ok) log.error(result.message, result.error)
    this.queue.cancel()
  }

  private expect(phase: 'startup' | 'shutdown'): Promise<Outcome> {
    this.expecting = phase
    return new Promise((resolve) => {
      this.waiter = resolve
    })
  }

  private resolve(outcome: Outcome): void {
    const waiter = this.waiter
    this.waiter = null
    this.expecting = null
    waiter?.(outcome)
  }

  private send(message: unknown): Promise<void> {
    const type = messageType(message)
    const phase = this.expecting
    if (
      phase !== null &&
      (type === `lifespan.${phase}.complete` || type === `lifespan.${phase}.failed`)
    ) {
      const text = (message as { message?: unknown }).message
      if (type.endsWith('.complete')) this.resolve({ ok: true })
      else {
        const detail = typeof text === 'string' && text ? `: ${text}` : '.'
        this.resolve({ ok: false, message: `Application ${phase} failed${detail}` })
      }
      return Promise.resolve()
    }
    const expected = phase ?? 'startup'
    return Promise.reject(
      new AsgiProtocolError(
        `Expected ASGI message 'lifespan.${expected}.complete' or 'lifespan.${expected}.failed', but got '${type}'.`,
      ),
    )
  }

  private finished(error: unknown): void {
    this.done = true
    const phase = this.expecting
    if (phase === null) {
      if (error !== null && !this.queue.isCancelled)
        log.error('Exception in lifespan application', error)
      return
    }
    if (phase === 'startup' && this.mode === 'auto') {
      // An app without lifespan support: not an error (uvicorn's "appears unsupported").
      log.debug("ASGI 'lifespan' protocol appears unsupported.", error ?? undefined)
      this.resolve({ ok: true, unsupported: true })
      return
    }
    const reason =
      error instanceof Error
        ? error.message
        : error === null
          ? 'the application returned'
          : typeof error === 'string'
            ? error
            : describeValue(error)
    this.resolve({ ok: false, message: `Application ${phase} failed: ${reason}`, error })
  }
}
