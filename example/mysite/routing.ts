/**
 * The root application (ASGI_APPLICATION): HTTP pages, the WebSocket routes, and the channels a
 * worker serves (`channels runworker chat-log`).
 *
 * The consumers' routes are plain string literals, so rePath() reads their `(?<name>…)` groups
 * and checks them against the kwargs each consumer declares: a misspelled `(?<roomname>…)` does
 * not compile. (A String.raw pattern is not read, and `path('chat/<str:room_name>/', …)` is
 * checked the same way.)
 */
import {
  AllowedHostsOriginValidator,
  AuthMiddlewareStack,
  ChannelNameRouter,
  ProtocolTypeRouter,
  URLRouter,
  path,
  rePath,
} from 'channels-ts'
import { ChatConsumer, EchoConsumer, HistoryConsumer } from '../chat/consumers.js'
import { CHAT_LOG_CHANNEL, ChatLogConsumer } from '../chat/worker.js'
import { PageConsumer } from './pages.js'

export const application = new ProtocolTypeRouter({
  http: new URLRouter([
    path('', PageConsumer.asAsgi({ page: 'index.html' })),
    rePath('^chat/(?<room_name>\\w{1,94})/$', PageConsumer.asAsgi({ page: 'chat.html' })),
    rePath('^chat/(?<room_name>\\w{1,94})/history/$', HistoryConsumer.asAsgi()),
  ]),
  websocket: AllowedHostsOriginValidator(
    AuthMiddlewareStack(
      new URLRouter([
        // A group name is shorter than 100 characters: `chat_` and at most 94 more. A longer
        // name matches no route, so its handshake is refused (403) like any unknown path.
        rePath('^ws/chat/(?<room_name>\\w{1,94})/$', ChatConsumer.asAsgi()),
        path('ws/echo/', EchoConsumer.asAsgi()),
      ]),
    ),
  ),
  // Messages sent to these channels, run by `channels runworker chat-log` (chat/worker.ts).
  channel: new ChannelNameRouter({
    [CHAT_LOG_CHANNEL]: ChatLogConsumer.asAsgi(),
  }),
})
