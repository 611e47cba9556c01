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
  type EventLayer,
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

/** What the worker handles, by message type: a message to keep, and a request for a room's log. */
export type ChatLogEvents = {
  'chat.log': LoggedMessage & { room: string }
  'chat.history': { room: string; reply_channel: string }
}

/** What the worker answers a history request with, on the requester's reply channel. */
export type HistoryReply = {
  'chat.history.reply': { messages: LoggedMessage[] }
}

/** The log: in the worker, or in the server with the in-memory layer. */
const rooms = new Map<string, LoggedMessage[]>()

function keep(room: string, entry: LoggedMessage): void {
  const messages = rooms.get(room) ?? []
  // Deleted and set again: the Map's order is then the order of the rooms' last messages.
  rooms.delete(room)
  rooms.set(room, [...messages.slice(1 - KEEP), entry])
  const oldest = rooms.keys().next()
  if (rooms.size > MAX_ROOMS && !oldest.done) rooms.delete(oldest.value)
}

/**
 * The `chat-log` worker. It handles the channel's messages one at a time. A malformed one makes
 * it raise: runworker logs that and hands the next message to a new instance (the log lives in
 * the module, so it is kept).
 */
export class ChatLogConsumer extends AsyncConsumer<{ events: ChatLogEvents }> {
  /** Keep the message. */
  chat_log({ room, user, message }: ChatLogEvents['chat.log']): void {
    keep(checked(room, 'chat.log', 'room'), {
      user: user === null ? null : checked(user, 'chat.log', 'user'),
      message: checked(message, 'chat.log', 'message'),
    })
  }

  /** Send the room's messages back. */
  async chat_history({ room, reply_channel }: ChatLogEvents['chat.history']): Promise<void> {
    // The answer goes to whoever asked: the layer seen as theirs.
    const requester: EventLayer<HistoryReply> = this.channelLayer
    await requester.send(checked(reply_channel, 'chat.history', 'reply_channel'), {
      type: 'chat.history.reply',
      messages: rooms.get(checked(room, 'chat.history', 'room')) ?? [],
    })
  }
}

/**
 * `chat-log` takes messages from every process on the layer, a Django one too, so a field is
 * checked here, where it comes in, before the worker relies on what ChatLogEvents says.
 */
function checked(value: unknown, type: string, key: string): string {
  if (typeof value !== 'string') throw new TypeError(`${type}: '${key}' is not a string`)
  return value
}

function isLoggedMessage(value: unknown): value is LoggedMessage {
  if (typeof value !== 'object' || value === null) return false
  if (!('message' in value) || typeof value.message !== 'string') return false
  return 'user' in value && (value.user === null || typeof value.user === 'string')
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
  const worker: EventLayer<ChatLogEvents> = layer
  try {
    await worker.send(CHAT_LOG_CHANNEL, { type: 'chat.log', room, ...entry })
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
  const worker: EventLayer<ChatLogEvents> = layer
  // A channel of this process for the answer.
  const replyChannel = await layer.newChannel()
  try {
    await worker.send(CHAT_LOG_CHANNEL, { type: 'chat.history', room, reply_channel: replyChannel })
    const signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS)
    const answer = await layer.receive(replyChannel, { signal })
    // What comes off the layer is unchecked: keep only well-formed entries.
    return Array.isArray(answer.messages) ? answer.messages.filter(isLoggedMessage) : []
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError'
    if (error instanceof ChannelFull || timedOut) return null
    throw error
  }
}
