/**
 * Channel-layer name and message validation, worded exactly as Channels' `BaseChannelLayer`
 * words it, so the same mistakes produce the same errors.
 * @module
 */
import { describeValue } from '../../util/describe.js'

/** Names must be SHORTER than this (so at most 99 characters), as in Channels. */
export const MAX_NAME_LENGTH = 100

// Channels' regexes, with ASCII \d and \w: Python's unicode classes would accept non-ASCII
// digits, which the error message itself rules out, and `$` there also accepts a trailing "\n".
const CHANNEL_NAME_REGEX = /^[a-zA-Z0-9\-_.]+(![a-zA-Z0-9\-_.]*)?$/
const GROUP_NAME_REGEX = /^[a-zA-Z0-9\-_.]+$/

function invalidNameError(kind: 'Channel' | 'Group'): string {
  return (
    `${kind} name must be a valid unicode string with length < ${MAX_NAME_LENGTH} ` +
    'containing only ASCII alphanumerics, hyphens, underscores, or periods.'
  )
}

/** The exact TypeError text Channels uses for an invalid channel name. */
export const INVALID_CHANNEL_NAME = invalidNameError('Channel')
/** The exact TypeError text Channels uses for an invalid group name. */
export const INVALID_GROUP_NAME = invalidNameError('Group')

/**
 * Throw a TypeError unless `name` is a valid channel name: ASCII alphanumerics, `-`, `_`, `.`,
 * optionally followed by `!` and a process-local part. With `receive`, a name containing `!` must
 * end at the `!` (Channels' rule for layers that receive on the process prefix).
 */
export function requireValidChannelName(name: unknown, receive = false): asserts name is string {
  if (typeof name !== 'string' || name.length >= MAX_NAME_LENGTH) {
    throw new TypeError(INVALID_CHANNEL_NAME)
  }
  if (!CHANNEL_NAME_REGEX.test(name)) throw new TypeError(INVALID_CHANNEL_NAME)
  if (receive && name.includes('!') && !name.endsWith('!')) {
    throw new TypeError('Specific channel names in receive() must end at the !')
  }
}

/** Throw a TypeError unless `name` is a valid group name (no `!` allowed). */
export function requireValidGroupName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length >= MAX_NAME_LENGTH) {
    throw new TypeError(INVALID_GROUP_NAME)
  }
  if (!GROUP_NAME_REGEX.test(name)) throw new TypeError(INVALID_GROUP_NAME)
}

/** The part of a channel name up to and including its `!`, or the whole name (Channels). */
export function nonLocalName(name: string): string {
  const bang = name.indexOf('!')
  return bang === -1 ? name : name.slice(0, bang + 1)
}

/** The key the Redis layer uses to carry a process-local target; users must not set it. */
export const RESERVED_MESSAGE_KEY = '__asgi_channel__'

/**
 * Throw a TypeError unless `message` is a plain object with a string `type` and without the
 * reserved `__asgi_channel__` key. Channels only asserts "is a dict"; `type` is checked here too
 * because every consumer would otherwise fail later, far from the bad `send`.
 */
export function requireValidMessage(message: unknown): void {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new TypeError(
      `Message must be an object (a dict in Channels), got ${describeValue(message)}`,
    )
  }
  const type = (message as { type?: unknown }).type
  if (typeof type !== 'string') {
    throw new TypeError(`Message must have a string 'type' key, got ${describeValue(type)}`)
  }
  if (Object.hasOwn(message, RESERVED_MESSAGE_KEY)) {
    throw new TypeError(`Message must not contain the reserved key '${RESERVED_MESSAGE_KEY}'`)
  }
}
