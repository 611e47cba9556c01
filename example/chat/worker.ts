/**
 * The chat log: the last 50 messages of each room, which the room page shows when it opens.
 *
 * With a Redis layer a worker keeps it: `channels runworker chat-log` runs ChatLogConsumer
 * (routed under `channel` in routing.ts). ChatConsumer sends each message to the `chat-log`
 * channel, and the page's history request (HistoryConsumer) asks the worker over the layer and
 * waits for its answer. Every server process, and Django on the same Redis, shares that one log.
 *
 * The in-memory layer reaches no other process (runworker refuses it), so with it, runserver's
 * default, the server keeps the log itself and no worker is needed; it starts empty again when
 * runserver reloads the code.
 */
import {
  AsyncConsumer,
  ChannelFull,
  getLogger,
  InMemoryChannelLayer,
  type ChannelLayer,
  type ChannelMessage,
} from 'channels-ts'

/** The worker's channel: `channels runworker chat-log`. */
export const CHAT_LOG_CHANNEL = 'chat-log'
/** Messages kept per room. */
const KEEP = 50
/** Rooms kept; the one least recently written to is dropped first. */
const MAX_ROOMS = 1000
/** How long a history request waits for the worker's answer. */
const ANSWER_TIMEOUT_MS = 2000

const logger = getLogger('chat')

/** A kept message, as the page shows it. */
export interface LoggedMessage {
  user: string | null
  message: string
}

/** The log: in the worker, or in the server with the in-memory layer. */
const rooms = new Map<string, LoggedMessage[]>()

function keep(room: string, entry: LoggedMessage): void {
  const messages = rooms.get(room) ?? []
  // Deleted and set again: the Map's order is then the order of the rooms' last messages.
  rooms.delete(room)
  rooms.set(room, [...messages.slice(1 - KEEP), entry])
  if (rooms.size > MAX_ROOMS) rooms.delete(rooms.keys().next().value as string)
}

/**
 * The `chat-log` worker. It handles the channel's messages one at a time. A malformed one makes
 * it raise: runworker logs that and hands the next message to a new instance (the log lives in
 * the module, so it is kept).
 */
export class ChatLogConsumer extends AsyncConsumer {
  /** `{ type: 'chat.log', room, user, message }`: keep the message. */
  chat_log(event: ChannelMessage): void {
    const user = event.user === null ? null : text(event, 'user')
    keep(text(event, 'room'), { user, message: text(event, 'message') })
  }

  /** `{ type: 'chat.history', room, reply_channel }`: send the room's messages back. */
  async chat_history(event: ChannelMessage): Promise<void> {
    const messages = rooms.get(text(event, 'room')) ?? []
    await this.channelLayer.send(text(event, 'reply_channel'), {
      type: 'chat.history.reply',
      messages,
    })
  }
}

function text(event: ChannelMessage, key: string): string {
  const value = event[key]
  if (typeof value !== 'string') throw new TypeError(`${event.type}: '${key}' is not a string`)
  return value
}

let fullWarned = false

/**
 * Keep a chat message: here with the in-memory layer, else by sending it to the worker. Never
 * fails: the chat goes on without the log when nobody runs the worker (`chat-log` then fills up
 * to the layer's capacity and refuses more with ChannelFull).
 */
export async function keepMessage(
  layer: ChannelLayer,
  room: string,
  entry: LoggedMessage,
): Promise<void> {
  if (layer instanceof InMemoryChannelLayer) return keep(room, entry)
  try {
    await layer.send(CHAT_LOG_CHANNEL, { type: 'chat.log', room, ...entry })
    fullWarned = false
  } catch (error) {
    if (!(error instanceof ChannelFull)) {
      logger.error(`Could not send a message to ${CHAT_LOG_CHANNEL}`, error)
    } else if (!fullWarned) {
      fullWarned = true
      logger.warn(
        `${CHAT_LOG_CHANNEL} is full: is a worker running (channels runworker ` +
          `${CHAT_LOG_CHANNEL})? Chat messages are not kept until it takes them.`,
      )
    }
  }
}

/**
 * The room's kept messages, oldest first; null when the worker did not answer in time (none
 * running, or `chat-log` full).
 */
export async function roomHistory(
  layer: ChannelLayer,
  room: string,
): Promise<LoggedMessage[] | null> {
  if (layer instanceof InMemoryChannelLayer) return rooms.get(room) ?? []
  // A channel of this process for the answer.
  const replyChannel = await layer.newChannel()
  try {
    await layer.send(CHAT_LOG_CHANNEL, {
      type: 'chat.history',
      room,
      reply_channel: replyChannel,
    })
    const signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS)
    const answer = await layer.receive(replyChannel, { signal })
    return answer.messages as LoggedMessage[]
  } catch (error) {
    if (error instanceof ChannelFull || (error as Error).name === 'TimeoutError') return null
    throw error
  }
}
