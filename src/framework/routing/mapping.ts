import { assertApplication, type RoutedApplication } from './application.js'
import { describeValue } from '../../util/describe.js'

/**
 * Turns a `{ key: app }` object into a Map of own keys only, so a scope type such as
 * 'constructor' or '__proto__' can never reach Object.prototype. `undefined` entries are
 * skipped (`http: DEBUG ? staticApp : undefined`); anything else must be an application.
 */
export function buildAppMap(
  mapping: unknown,
  router: string,
  keyName: string,
): Map<unknown, RoutedApplication> {
  if (typeof mapping !== 'object' || mapping === null || Array.isArray(mapping)) {
    throw new TypeError(
      `${router} expects an object mapping each ${keyName} to an application, ` +
        `got ${describeValue(mapping)}.`,
    )
  }
  const apps = new Map<unknown, RoutedApplication>()
  for (const [key, app] of Object.entries(mapping)) {
    if (app === undefined) continue
    assertApplication(app, `${router}: the application for ${keyName} '${key}'`)
    apps.set(key, app)
  }
  return apps
}
