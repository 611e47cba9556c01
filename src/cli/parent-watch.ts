/**
 * The safety net for servers started by npm or npx. npm runs a script through `sh -c` and passes
 * a SIGTERM on to that shell only; a shell that did not `exec` the command dies of it and leaves
 * the server running, holding its port and its connections. So when npm started us (it sets
 * `npm_lifecycle_event` for scripts and npx alike) and our parent process goes away, the server
 * stops as if it had been sent the signal itself.
 *
 * Outside npm nothing is watched: `channels serve &` in a shell script that then exits, or under
 * `nohup`, is a server meant to outlive its parent.
 * @module
 */

/** How often the parent pid is read: a cheap system call, and a stop within half a second. */
const INTERVAL_MS = 500

/**
 * Call `onGone` once when the parent process exits (this process is handed to init or a
 * subreaper, so its parent pid changes). Only under npm; returns a function that stops watching.
 */
export function watchParent(
  env: Record<string, string | undefined>,
  onGone: () => void,
  interval = INTERVAL_MS,
): () => void {
  if (env.npm_lifecycle_event === undefined) return () => undefined
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onGone()
  }, interval)
  // The watch itself never keeps the process alive.
  timer.unref()
  return () => clearInterval(timer)
}
