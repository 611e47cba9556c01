/**
 * StopConsumer without a stack trace: it ends every connection, and capturing a stack for a
 * control-flow signal nobody prints cost more than the rest of the disconnect.
 * @module
 */
import { StopConsumer } from '../asgi/errors.js'

/** A new StopConsumer with an empty stack (throw it from a handler to end the consumer). */
export function stopConsumer(): StopConsumer {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new StopConsumer()
  } finally {
    Error.stackTraceLimit = limit
  }
}
