/**
 * Session errors (Django's `CreateError`, `UpdateError`, `SuspiciousOperation`).
 * @module
 */
import { ChannelsError } from '../../asgi/errors.js'

/** A new session's key is already taken (the caller retries with another key). */
export class CreateError extends ChannelsError {}

/** Saving updated a session that no longer exists in its store (deleted concurrently). */
export class UpdateError extends ChannelsError {}

/** Something a client did looks like an attack or a race (Django's `SuspiciousOperation`). */
export class SuspiciousOperation extends ChannelsError {}
