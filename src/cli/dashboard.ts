/**
 * The dashboard as runserver and serve set it up: an inspector of the command's server with the
 * process's channel layers, its log records and (runserver) its reloads, mounted at
 * `/_channels/`. runserver serves it in DEBUG with no token, to the hosts Django's runserver
 * serves; `serve --dashboard` only with a token (CHANNELS_DASHBOARD_TOKEN, else the
 * DASHBOARD_TOKEN setting).
 * @module
 */
import type { LogHandler } from '../framework/asgi/logging.js'
import { channelLayers } from '../framework/layers/index.js'
import {
  DEBUG_HTTP_ALLOWED_HOSTS,
  splitDomainPort,
  validateHost,
} from '../framework/middleware/allowed-hosts.js'
import type { DashboardAccess } from '../server/dashboard/access.js'
import { createDashboardApp } from '../server/dashboard/app.js'
import {
  createInspector,
  DASHBOARD_PREFIX,
  type Inspector,
  type InspectorOptions,
} from '../server/dashboard/inspector.js'
import { CommandError } from './errors.js'
import type { CliServer } from './io.js'
import type { ProjectSettings } from './settings-loader.js'

/** The environment variable `serve --dashboard` reads its token from first. */
export const DASHBOARD_TOKEN_ENV = 'CHANNELS_DASHBOARD_TOKEN'

/** What the dashboard needs of the command's server (the real one has it; CLI test fakes may not). */
type DashboardServer = CliServer &
  Required<Pick<CliServer, 'mount' | 'inspect' | 'closeConnection'>>

function canServe(server: CliServer): server is DashboardServer {
  return (
    server.mount !== undefined &&
    server.inspect !== undefined &&
    server.closeConnection !== undefined
  )
}

/**
 * Mount the dashboard on `server`; undefined when the server cannot host it (a stand-in). Close
 * the inspector when the server stops.
 */
export function mountCliDashboard(
  server: CliServer,
  access: DashboardAccess,
  options: Omit<InspectorOptions, 'layers'>,
): Inspector | undefined {
  if (!canServe(server)) return undefined
  const inspector = createInspector(server, { ...options, layers: () => channelLayers.backends })
  server.mount(DASHBOARD_PREFIX, createDashboardApp(inspector, access))
  return inspector
}

/** A log handler that also gives every record to the inspector (which keeps what matters). */
export function teeLogHandler(
  handler: LogHandler,
  inspector: () => Inspector | undefined,
): LogHandler {
  return (record) => {
    inspector()?.recordLog(record)
    handler(record)
  }
}

/**
 * The Host names the dashboard answers: Django's rule for the project (ALLOWED_HOSTS, or in DEBUG
 * with none set, localhost's names), so a DNS-rebinding site cannot read it either. Undefined
 * (every host) when the project has no rule: without settings, or ALLOWED_HOSTS empty outside
 * DEBUG, where serve's token is the guard.
 */
export function dashboardHosts(settings: ProjectSettings): ((host: string) => boolean) | undefined {
  const configured = Array.isArray(settings.ALLOWED_HOSTS)
    ? settings.ALLOWED_HOSTS.filter((h): h is string => typeof h === 'string')
    : []
  const hosts =
    configured.length === 0 && settings.DEBUG === true ? DEBUG_HTTP_ALLOWED_HOSTS : configured
  if (hosts.length === 0) return undefined
  return (host) => {
    const [domain] = splitDomainPort(host)
    return domain !== '' && validateHost(domain, hosts)
  }
}

/** serve's token: the environment's, else the setting's; a CommandError when there is none. */
export function dashboardToken(
  env: Record<string, string | undefined>,
  settings: ProjectSettings,
): string {
  const fromEnv = env[DASHBOARD_TOKEN_ENV]
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.trim()
  const setting = settings.DASHBOARD_TOKEN
  if (typeof setting === 'string' && setting.trim() !== '') return setting.trim()
  throw new CommandError(
    `--dashboard needs a token: set ${DASHBOARD_TOKEN_ENV} in the environment or ` +
      'DASHBOARD_TOKEN in the settings. The dashboard shows every connection and can close ' +
      'them, so it is never served without one in production.',
  )
}
