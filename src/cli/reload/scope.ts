/**
 * What one evaluation of a user bundle runs with in place of Node's timer globals and of Vite's
 * `import.meta.hot`: timer functions that remember what they started, and `dispose` callbacks.
 * When the evaluation retires, its timers are cleared and its callbacks run, so the code of a
 * generation nothing uses any more stops running. Framework and npm code are outside the bundle
 * and keep Node's own timers.
 * @module
 */
import { promisify } from 'node:util'
import { getLogger } from '../../framework/asgi/logging.js'

/** A `dispose` callback: close what the module opened (may return a promise). */
export type DisposeCallback = () => void | Promise<void>

/** The part of Vite's `import.meta.hot` runserver supports. */
export interface HotContext {
  /** Run `callback` when this generation of the module retires. */
  dispose(callback: DisposeCallback): void
}

/** The names a bundle's code sees instead of the globals (see bundler.ts). */
export interface ScopeBindings {
  setTimeout: typeof setTimeout
  setInterval: typeof setInterval
  setImmediate: typeof setImmediate
  clearTimeout: typeof clearTimeout
  clearInterval: typeof clearInterval
  clearImmediate: typeof clearImmediate
  hot: HotContext | undefined
}

/** The timer globals, read at call time, and no `import.meta.hot` (serve, tests). */
export const GLOBAL_BINDINGS: ScopeBindings = {
  get setTimeout() {
    return globalThis.setTimeout
  },
  get setInterval() {
    return globalThis.setInterval
  },
  get setImmediate() {
    return globalThis.setImmediate
  },
  get clearTimeout() {
    return globalThis.clearTimeout
  },
  get clearInterval() {
    return globalThis.clearInterval
  },
  get clearImmediate() {
    return globalThis.clearImmediate
  },
  hot: undefined,
}

const logger = getLogger('channels.runserver')

type Callback = (...args: unknown[]) => unknown

/** The timers and dispose callbacks of one evaluated bundle. */
export class ModuleScope {
  readonly bindings: ScopeBindings
  private readonly timeouts = new Set<NodeJS.Timeout>()
  private readonly intervals = new Set<NodeJS.Timeout>()
  private readonly immediates = new Set<NodeJS.Immediate>()
  private readonly callbacks: DisposeCallback[] = []
  private state: 'live' | 'retiring' | 'retired' = 'live'
  private retiring: Promise<void> | undefined
  private holders = 0

  /** `label` names the scope in error messages ("generation 3 of mysite/routing.ts"). */
  constructor(readonly label: string) {
    this.bindings = this.createBindings()
  }

  /** True once retire() has finished: timers started from now on never fire. */
  get retired(): boolean {
    return this.state === 'retired'
  }

  /** One more generation uses this scope. */
  hold(): void {
    this.holders++
  }

  /** A generation using this scope retired; the last one retires the scope. */
  release(): Promise<void> {
    this.holders--
    return this.holders <= 0 ? this.retire() : Promise.resolve()
  }

  /**
   * Clear the timers, run the dispose callbacks (in the order they were registered; errors are
   * logged), then clear whatever the callbacks left. Idempotent.
   */
  retire(): Promise<void> {
    this.retiring ??= this.runRetirement()
    return this.retiring
  }

  private async runRetirement(): Promise<void> {
    this.state = 'retiring'
    this.clearAll()
    // A callback may register another; it runs too.
    for (let callback = this.callbacks.shift(); callback; callback = this.callbacks.shift()) {
      try {
        await callback()
      } catch (error) {
        logger.error(`A dispose callback of ${this.label} failed:`, error)
      }
    }
    this.clearAll()
    this.state = 'retired'
  }

  private clearAll(): void {
    for (const handle of this.timeouts) clearTimeout(handle)
    for (const handle of this.intervals) clearInterval(handle)
    for (const handle of this.immediates) clearImmediate(handle)
    this.timeouts.clear()
    this.intervals.clear()
    this.immediates.clear()
  }

  private createBindings(): ScopeBindings {
    const { timeouts, intervals, immediates } = this
    const retired = () => this.state === 'retired'

    function scopedSetTimeout(callback: Callback, ms?: number, ...args: unknown[]) {
      // Node's own argument errors, thrown where the call is (Node never evaluates a string).
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see above
      if (typeof callback !== 'function') return globalThis.setTimeout(callback, ms, ...args)
      const handle: NodeJS.Timeout = globalThis.setTimeout(
        function (this: unknown, ...fired: unknown[]) {
          timeouts.delete(handle)
          return callback.apply(this, fired)
        },
        ms,
        ...args,
      )
      if (retired()) {
        clearTimeout(handle)
        return handle
      }
      timeouts.add(handle)
      // refresh() re-arms a timeout that may already have fired (and left the set).
      const refresh = handle.refresh.bind(handle)
      handle.refresh = () => {
        if (!retired()) timeouts.add(handle)
        return refresh()
      }
      return handle
    }

    function scopedSetInterval(callback: Callback, ms?: number, ...args: unknown[]) {
      const handle = globalThis.setInterval(callback, ms, ...args)
      if (retired()) clearInterval(handle)
      else intervals.add(handle)
      return handle
    }

    function scopedSetImmediate(callback: Callback, ...args: unknown[]) {
      // As in scopedSetTimeout: Node throws its own error for a callback that is not a function.
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see above
      if (typeof callback !== 'function') return globalThis.setImmediate(callback, ...args)
      const handle: NodeJS.Immediate = globalThis.setImmediate(
        function (this: unknown, ...fired: unknown[]) {
          immediates.delete(handle)
          return callback.apply(this, fired)
        },
        ...args,
      )
      if (retired()) clearImmediate(handle)
      else immediates.add(handle)
      return handle
    }

    // clearTimeout and clearInterval accept each other's handles in Node.
    function scopedClearTimer(handle?: NodeJS.Timeout | string | number) {
      if (typeof handle === 'object') {
        timeouts.delete(handle)
        intervals.delete(handle)
      }
      globalThis.clearTimeout(handle)
    }

    function scopedClearImmediate(handle?: NodeJS.Immediate) {
      if (handle) immediates.delete(handle)
      globalThis.clearImmediate(handle)
    }

    // util.promisify(setTimeout) keeps working (through Node's own promise timers).
    for (const [scoped, real] of [
      [scopedSetTimeout, globalThis.setTimeout],
      [scopedSetImmediate, globalThis.setImmediate],
    ] as const) {
      Object.defineProperty(scoped, promisify.custom, {
        value: (real as unknown as Record<symbol, unknown>)[promisify.custom],
      })
    }

    const callbacks = this.callbacks
    const label = this.label
    return {
      setTimeout: scopedSetTimeout as unknown as typeof setTimeout,
      setInterval: scopedSetInterval as unknown as typeof setInterval,
      setImmediate: scopedSetImmediate as unknown as typeof setImmediate,
      clearTimeout: scopedClearTimer,
      clearInterval: scopedClearTimer,
      clearImmediate: scopedClearImmediate,
      hot: {
        dispose(callback: DisposeCallback) {
          if (typeof callback !== 'function')
            throw new TypeError(`import.meta.hot.dispose() needs a function (in ${label})`)
          if (retired()) return
          callbacks.push(callback)
        },
      },
    }
  }
}
