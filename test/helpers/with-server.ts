/**
 * Real-socket server fixtures: start a server on port 0 (or any endpoints), read back where it
 * listens, and stop every server a test started in `afterEach`. Also a recording log handler.
 * @module
 */
import { afterEach, beforeEach } from 'vitest'
import type { Application } from '../../src/framework/asgi/types.js'
import { setLogHandler, type LogRecord } from '../../src/framework/asgi/logging.js'
import type { Endpoint } from '../../src/server/endpoints/types.js'
import type { ReactorName } from '../../src/server/reactor/types.js'
import {
  createServer,
  type Server,
  type ServerOptions,
  type StartResult,
} from '../../src/server/index.js'

/** The reactors every real-socket suite runs against. */
export const REACTORS: readonly ReactorName[] = ['uws', 'node']

/** A started server and the handy addresses of its first listener. */
export interface RunningServer {
  server: Server
  started: StartResult
  host: string
  port: number
  /** `http://127.0.0.1:PORT` (or `https://` for ssl endpoints). */
  url: string
  /** `ws://127.0.0.1:PORT` (or `wss://`). */
  wsUrl: string
}

/**
 * Returns a `start(app, options?, endpoints?)` function whose servers are stopped after each
 * test. Options default to quiet, fast settings; `reactor` must be given.
 */
export function useServers(): (
  app: Application,
  options: ServerOptions & { reactor: ReactorName },
  endpoints?: (Endpoint | string)[],
) => Promise<RunningServer> {
  const servers: Server[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()))
  })
  return async (app, options, endpoints = ['tcp:port=0:interface=127.0.0.1']) => {
    const server = createServer(app, endpoints, {
      lifespan: 'off',
      applicationCloseTimeout: 2_000,
      ...options,
    })
    servers.push(server)
    const started = await server.start()
    const address = started.listeners[0]?.address
    const host = address && 'host' in address ? address.host : '127.0.0.1'
    const port = address && 'port' in address ? address.port : 0
    const tls = address?.kind === 'ssl'
    return {
      server,
      started,
      host,
      port,
      url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
      wsUrl: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    }
  }
}

/** Record log records during each test of the calling suite (restored afterwards). */
export function useLogRecords(): LogRecord[] {
  const records: LogRecord[] = []
  let previous: ReturnType<typeof setLogHandler> | null = null
  beforeEach(() => {
    records.length = 0
    previous = setLogHandler((record) => records.push(record))
  })
  afterEach(() => {
    if (previous !== null) setLogHandler(previous)
    previous = null
  })
  return records
}

/** Start recording logs now (call in a test or beforeEach); returns the records and a restore. */
export function recordLogs(): { records: LogRecord[]; restore(): void } {
  const records: LogRecord[] = []
  const previous = setLogHandler((record) => records.push(record))
  return { records, restore: () => setLogHandler(previous) }
}
