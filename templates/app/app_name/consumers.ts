/**
 * Consumers of the {{ app_name }} app. Route them in {{ app_name }}/routing.ts and include those
 * routes in the project's routing module.
 */
import { AsyncJsonWebsocketConsumer } from 'channels-ts'

/** What the consumer sends: each message it got, back. */
export interface {{ app_class }}Reply {
  received: unknown
}

/**
 * Echoes every JSON message. A client's message is `unknown` until something checks it: declare
 * its type as the first type argument and override `validateJson` (with the schema library of
 * your choice) to check it; what fails goes to `onDecodeError`, which closes the socket (1007).
 */
export class {{ app_class }}Consumer extends AsyncJsonWebsocketConsumer<unknown, {{ app_class }}Reply> {
  override async connect(): Promise<void> {
    await this.accept()
  }

  override async receiveJson(content: unknown): Promise<void> {
    await this.sendJson({ received: content })
  }
}
