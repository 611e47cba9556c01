/**
 * Unix-socket path handling shared by both reactors, with Twisted's semantics
 * (`twisted.internet.unix.Port` + `twisted.python.lockfile.FilesystemLock`): with `lockfile`, the
 * path is guarded by a `PATH.lock` symlink naming the owner's pid; a stale lock (its pid is gone)
 * lets us remove the stale socket file left behind; a live lock refuses with "Cannot acquire lock".
 * On close the socket file is unlinked and the lock released.
 * @module
 */
import fs from 'node:fs'
import { dirname } from 'node:path'
import type { UnixEndpoint } from '../endpoints/types.js'

/** What `prepareUnixPath` hands back: call `release` after the listener closed. */
export interface UnixPathClaim {
  /** Unlink the socket file and release the lock (idempotent, never throws). */
  release(): void
}

/** Make an error whose message and `code` say what went wrong with a unix path. */
function unixError(path: string, message: string, code: string, cause?: unknown): Error {
  const error = new Error(`Cannot listen on unix:${path}: ${message}`, { cause })
  return Object.assign(error, { code })
}

/** True while a process with this pid exists (EPERM: it exists but is not ours). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Take `lockPath` as a symlink to our pid. Returns `{ clean }` (false when a stale lock was
 * broken) or null when a live process holds it.
 */
function acquireLock(lockPath: string): { clean: boolean } | null {
  let clean = true
  for (;;) {
    try {
      fs.symlinkSync(String(process.pid), lockPath)
      return { clean }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let owner: string
    try {
      owner = fs.readlinkSync(lockPath)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue // released meanwhile: retry
      throw error
    }
    const pid = Number.parseInt(owner, 10)
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) return null
    try {
      fs.unlinkSync(lockPath)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    clean = false
  }
}

function isSocket(path: string): boolean {
  try {
    return fs.statSync(path).isSocket()
  } catch {
    return false
  }
}

/**
 * Claim `endpoint.path` before binding. Throws "Cannot acquire lock" when a live process holds
 * `PATH.lock`, EADDRINUSE when the path exists and no stale lock vouches for removing it (uWS
 * would otherwise silently unlink a live server's socket), ENOENT when its directory is missing.
 */
export function prepareUnixPath(endpoint: UnixEndpoint): UnixPathClaim {
  const { path } = endpoint
  if (!fs.existsSync(dirname(path))) {
    throw unixError(path, `no such directory ${dirname(path)}`, 'ENOENT')
  }
  const lockPath = `${path}.lock`
  let locked = false
  if (endpoint.lockfile) {
    let lock: { clean: boolean } | null
    try {
      lock = acquireLock(lockPath)
    } catch (error) {
      throw unixError(path, `Cannot acquire lock (${(error as Error).message})`, 'ELOCK', error)
    }
    if (lock === null) throw unixError(path, 'Cannot acquire lock', 'ELOCK')
    locked = true
    // Best effort, like Twisted: a stale lock means the socket file is a leftover.
    if (!lock.clean && isSocket(path)) fs.rmSync(path, { force: true })
  }
  if (fs.existsSync(path)) {
    if (locked) fs.rmSync(lockPath, { force: true })
    throw unixError(path, 'Address already in use', 'EADDRINUSE')
  }
  let released = false
  return {
    release() {
      if (released) return
      released = true
      try {
        if (isSocket(path)) fs.rmSync(path, { force: true })
        if (locked) fs.rmSync(lockPath, { force: true })
      } catch {
        // Cleanup is best effort: a vanished file is not an error at shutdown.
      }
    },
  }
}
