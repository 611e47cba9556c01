/**
 * A fake `createServer` for CLI tests (Daphne's TestedCLI.TestedServer): records what the CLI
 * asked for and, once started, stops the command by aborting its shutdown signal.
 */
import type { Application } from '../../src/framework/asgi/types.js'
import type { CliDeps, CliServer, CliServerStarted } from '../../src/cli/index.js'
import { formatEndpoint } from '../../src/server/endpoints/index.js'
import type { Endpoint } from '../../src/server/endpoints/types.js'
import type { ServerOptions } from '../../src/server/config.js'

export interface FakeRun {
  app?: Application
  endpoints?: Endpoint[]
  options?: ServerOptions
  started: boolean
  stopped: boolean
  /** How many SIGTERM listeners the process had when the server was asked to start. */
  signalListenersAtStart?: number
  /** The endpoints as strports strings, sorted as given. */
  endpointStrings(): string[]
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
  server: FakeRun
}

/** Run `main(argv)` with a fake server; the command returns as soon as the server started. */
export async function runCli(
  argv: string[],
  options: {
    cwd?: string
    env?: Record<string, string | undefined>
    startError?: Error
    keepRunning?: (stop: () => void) => void
    /** Leave the shutdown signal to the CLI's own SIGINT/SIGTERM handlers. */
    processSignals?: boolean
  } = {},
): Promise<RunResult> {
  const { main } = await import('../../src/cli/index.js')
  const controller = new AbortController()
  const server: FakeRun = {
    started: false,
    stopped: false,
    endpointStrings() {
      return (this.endpoints ?? []).map(formatEndpoint)
    },
  }
  let stdout = ''
  let stderr = ''
  const createServer = (
    app: Application,
    endpoints: Endpoint[],
    serverOptions: ServerOptions,
  ): CliServer => {
    server.app = app
    server.endpoints = endpoints
    server.options = serverOptions
    return {
      async start(): Promise<CliServerStarted> {
        if (options.startError) throw options.startError
        server.started = true
        server.signalListenersAtStart = process.listenerCount('SIGTERM')
        if (options.processSignals) process.emit('SIGTERM', 'SIGTERM')
        else if (options.keepRunning) options.keepRunning(() => controller.abort())
        else controller.abort()
        return {
          reactor: 'node',
          engine: 'fake engine',
          listeners: endpoints.map((endpoint) => ({
            endpoint,
            address:
              endpoint.kind === 'tcp'
                ? {
                    kind: 'tcp',
                    host: endpoint.host,
                    port: endpoint.port === 0 ? 45678 : endpoint.port,
                  }
                : endpoint.kind === 'unix'
                  ? { kind: 'unix', path: endpoint.path }
                  : { kind: 'fd', fileno: endpoint.kind === 'fd' ? endpoint.fileno : -1 },
          })),
        }
      },
      async stop() {
        server.stopped = true
      },
    }
  }
  const deps: CliDeps = {
    createServer,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    color: false,
    ...(options.processSignals ? {} : { shutdown: controller.signal }),
    now: () => new Date(2026, 10, 26, 6, 33, 49),
  }
  const code = await main(argv, deps)
  // Getters: callbacks captured by the fake (onAction) may still write after main returned.
  return {
    code,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    server,
  }
}
