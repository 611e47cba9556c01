/**
 * Daphne's `build_endpoint_description_strings` and the binding resolution of its `cli.run`:
 * turn `--bind/--port/--unix-socket/--fd/-e` into the list of strports descriptions to listen on.
 * @module
 */
import { ValueError } from '../../framework/asgi/errors.js'

/** Daphne's default interface when no host is given. */
export const DEFAULT_HOST = '127.0.0.1'
/** Daphne's default port when no port is given. */
export const DEFAULT_PORT = 8000

/** The shortcut flags, each optional (`null`/`undefined` = not given). */
export interface EndpointFlags {
  host?: string | null
  port?: number | null
  unixSocket?: string | null
  fileDescriptor?: number | null
}

function integer(name: string, value: number): number {
  if (!Number.isInteger(value)) throw new ValueError(`${name} must be an integer, got ${value}.`)
  return value
}

/**
 * Daphne's `build_endpoint_description_strings`: tcp (host and port), then unix, then fd.
 * An IPv6 host loses its brackets and has each `:` escaped (`[::1]` → `interface=\:\:1`).
 * Deviation: daphne silently ignores `port=0` without a host (0 is falsy in Python); we raise.
 * @throws ValueError when only one of host/port is given.
 */
export function buildEndpointDescriptionStrings(flags: EndpointFlags = {}): string[] {
  const { host, port, unixSocket, fileDescriptor } = flags
  const descriptions: string[] = []
  if (host && port != null) {
    const interfaceArg = host.replace(/^[[\]]+|[[\]]+$/g, '').replaceAll(':', '\\:')
    descriptions.push(`tcp:port=${integer('port', port)}:interface=${interfaceArg}`)
  } else if (host || port != null) {
    throw new ValueError('TCP binding requires both port and host kwargs.')
  }
  // The path is not escaped, exactly as daphne does: a path containing `:` will not parse.
  if (unixSocket) descriptions.push(`unix:${unixSocket}`)
  if (fileDescriptor != null) {
    descriptions.push(`fd:fileno=${integer('fileDescriptor', fileDescriptor)}`)
  }
  return descriptions
}

/** Everything `daphne` / `channels serve` accepts about where to listen. */
export interface EndpointOptions extends EndpointFlags {
  /** Raw `-e/--endpoint` strings, kept verbatim (not parsed here). */
  endpoints?: readonly string[] | null
}

/** Python's `sorted()` order for strings: by code point, not UTF-16 unit. */
function byCodePoint(a: string, b: string): number {
  // Spreading a string yields its code points, the unit Python compares.
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- see above
  const x = [...a]
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- see above
  const y = [...b]
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0)
    if (d !== 0) return d
  }
  return x.length - y.length
}

/**
 * Daphne's `cli.run` binding resolution: nothing given → 127.0.0.1:8000; a host alone → port
 * 8000; a port alone → host 127.0.0.1; then `sorted(rawEndpoints + built)`, duplicates kept.
 */
export function resolveEndpointStrings(options: EndpointOptions = {}): string[] {
  let { host, port } = options
  const { unixSocket, fileDescriptor } = options
  const raw = options.endpoints ?? []
  if (!host && port == null && !unixSocket && fileDescriptor == null && raw.length === 0) {
    host = DEFAULT_HOST
    port = DEFAULT_PORT
  } else if (host && port == null) {
    port = DEFAULT_PORT
  } else if (port != null && !host) {
    host = DEFAULT_HOST
  }
  const built = buildEndpointDescriptionStrings({ host, port, unixSocket, fileDescriptor })
  return [...raw, ...built].sort(byCodePoint)
}
