import type {
  Application,
  ChannelScope,
  HttpScope,
  LifespanScope,
  Receive,
  Scope,
  Send,
  WebSocketScope,
} from '../asgi/types.js'
import { ValueError } from '../asgi/errors.js'
import type { RoutedApplication } from './application.js'
import { AsgiCallable } from './callable.js'
import { buildAppMap } from './mapping.js'
import { describeValue } from '../../util/describe.js'

/** Scope type → application. The well-known types are typed with their scope. */
export interface ProtocolTypeMapping {
  http?: Application<HttpScope>
  websocket?: Application<WebSocketScope>
  lifespan?: Application<LifespanScope>
  channel?: Application<ChannelScope>
  [type: string]: RoutedApplication | undefined
}

/**
 * Routes each connection on `scope.type` (Channels' `ProtocolTypeRouter`). The instance is
 * itself an ASGI application. `lifespan` is not special-cased: map it or servers get an error.
 * @example
 * export const application = new ProtocolTypeRouter({ websocket: new URLRouter(routes) })
 */
export class ProtocolTypeRouter extends AsgiCallable {
  /** The mapping it was built with (Channels' `application_mapping`). */
  readonly applicationMapping: Readonly<ProtocolTypeMapping>
  readonly #apps: Map<unknown, RoutedApplication>

  constructor(applicationMapping: ProtocolTypeMapping) {
    super()
    this.#apps = buildAppMap(applicationMapping, 'ProtocolTypeRouter', 'scope type')
    this.applicationMapping = applicationMapping
  }

  /** Routes one connection; throws ValueError for a missing or unmapped type. */
  override asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    // Not async: the app's own promise is returned, no frame of ours kept per connection.
    try {
      const type: unknown = scope.type
      // Channels raises KeyError here; we have no KeyError, so it is a ValueError.
      if (type === undefined) throw new ValueError("Scope has no 'type' key")
      const app = this.#apps.get(type)
      if (app === undefined) {
        const shown = typeof type === 'string' ? `'${type}'` : describeValue(type)
        throw new ValueError(`No application configured for scope type ${shown}`)
      }
      return Promise.resolve(app(scope, receive, send))
    } catch (error) {
      return Promise.reject(error)
    }
  }
}
