/**
 * Consumers of the {{ app_name }} app. Route them in {{ app_name }}/routing.ts and include those
 * routes in the project's routing module.
 */
import { AsyncJsonWebsocketConsumer } from 'channels-ts'

export class {{ app_class }}Consumer extends AsyncJsonWebsocketConsumer {
  override async connect(): Promise<void> {
    await this.accept()
  }

  override async receiveJson(content: unknown): Promise<void> {
    await this.sendJson({ received: content })
  }
}
