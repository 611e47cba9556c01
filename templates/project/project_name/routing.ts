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
    rePath(String.raw`^chat/(?<room_name>\w{1,94})/$`, PageConsumer.asAsgi({ page: 'chat.html' })),
  ]),
  websocket: AllowedHostsOriginValidator(
    AuthMiddlewareStack(
      new URLRouter([
        // A group name is shorter than 100 characters: `chat_` and at most 94 more. A longer
        // name matches no route, so its handshake is refused (403) like any unknown path.
        rePath(String.raw`^ws/chat/(?<room_name>\w{1,94})/$`, ChatConsumer.asAsgi()),
        path('ws/echo/', EchoConsumer.asAsgi()),
      ]),
    ),
  ),
})
