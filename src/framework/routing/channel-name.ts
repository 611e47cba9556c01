import type { Receive, Scope, Send } from '../asgi/types.js'
import { ValueError } from '../asgi/errors.js'
import type { RoutedApplication } from './application.js'
import { AsgiCallable } from './callable.js'
import { buildAppMap } from './mapping.js'
import { describeValue } from '../../util/describe.js'

/** Channel name → application, for `channel` scopes (`channels runworker`). */
export type ChannelNameMapping = Record<string, RoutedApplication | undefined>

/**
 * Routes worker scopes on `scope.channel` (Channels' `ChannelNameRouter`). The instance is
 * itself an ASGI application.
 */
export class ChannelNameRouter extends AsgiCallable {
  /** The mapping it was built with (Channels' `application_mapping`). */
  readonly applicationMapping: Readonly<ChannelNameMapping>
  readonly #apps: Map<unknown, RoutedApplication>

  constructor(applicationMapping: ChannelNameMapping) {
    super()
    this.#apps = buildAppMap(applicationMapping, 'ChannelNameRouter', 'channel name')
    this.applicationMapping = applicationMapping
  }

  /** Routes one worker scope; throws ValueError for a missing or unmapped channel. */
  override async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    const channel: unknown = scope.channel
    if (channel === undefined) {
      throw new ValueError(
        "ChannelNameRouter got a scope without a 'channel' key. " +
          "Did you make sure it's only being used for 'channel' type messages?",
      )
    }
    const app = this.#apps.get(channel)
    if (app === undefined) {
      const shown = typeof channel === 'string' ? `'${channel}'` : describeValue(channel)
      throw new ValueError(`No application configured for channel name ${shown}`)
    }
    return app(scope, receive, send)
  }
}
