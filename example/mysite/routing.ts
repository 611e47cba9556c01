/**
 * The root application (ASGI_APPLICATION): HTTP pages and the WebSocket routes.
 */
import {
  AllowedHostsOriginValidator,
  AuthMiddlewareStack,
  ProtocolTypeRouter,
  URLRouter,
  path,
  rePath,
} from 'channels-ts'
import { ChatConsumer, EchoConsumer } from '../chat/consumers.js'
import { PageConsumer } from './pages.js'

export const application = new ProtocolTypeRouter({
  http: new URLRouter([
    path('', PageConsumer.asAsgi({ page: 'index.html' })),
    rePath(String.raw`^chat/(?<room_name>\w+)/$`, PageConsumer.asAsgi({ page: 'chat.html' })),
  ]),
  websocket: AllowedHostsOriginValidator(
    AuthMiddlewareStack(
      new URLRouter([
        rePath(String.raw`^ws/chat/(?<room_name>\w+)/$`, ChatConsumer.asAsgi()),
        path('ws/echo/', EchoConsumer.asAsgi()),
      ]),
    ),
  ),
})
