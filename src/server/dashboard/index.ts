/**
 * The dashboard in one call: an inspector of the server and its page mounted at `/_channels/`.
 * @module
 */
import type { Server } from '../server.js'
import type { DashboardAccess } from './access.js'
import { createDashboardApp } from './app.js'
import {
  createInspector,
  DASHBOARD_PREFIX,
  type Inspector,
  type InspectorOptions,
} from './inspector.js'

/** Options of {@link mountDashboard}: where the data comes from, and who may see it. */
export interface DashboardOptions extends InspectorOptions {
  access: DashboardAccess
}

/**
 * Serve the dashboard on `server` at `/_channels/`, ahead of the server's application; returns
 * the inspector behind it (close it when the server stops).
 */
export function mountDashboard(server: Server, options: DashboardOptions): Inspector {
  const { access, ...inspectorOptions } = options
  const inspector = createInspector(server, inspectorOptions)
  server.mount(DASHBOARD_PREFIX, createDashboardApp(inspector, access))
  return inspector
}
