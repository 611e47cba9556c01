// README's "Channel layers and groups" example, verbatim below this comment (readme.test.ts checks README shows it).
import { requireChannelLayer, type EventLayer } from 'channels-ts'
import type { ChatMessage } from './consumers.js'

// e.g. from a timer: every consumer in the room gets chat_message(). Seen as the room's
// consumers see it, the layer checks the message against their events.
const rooms: EventLayer<{ 'chat.message': ChatMessage }> = requireChannelLayer()
await rooms.groupSend('chat_lobby', { type: 'chat.message', message: 'hello' })
