/**
 * Endpoint → text: the canonical strports description (so parse/format round-trips) and a human
 * URL for startup banners.
 * @module
 */
import type { BoundAddress } from '../reactor/types.js'
import { DEFAULT_UNIX_MODE } from './parse.js'
import type { Endpoint } from './types.js'

/** Twisted's `quoteStringArgument`: escape `\` then `:` so a value survives the tokenizer. */
export function quoteStringArgument(argument: string): string {
  return argument.replaceAll('\\', '\\\\').replaceAll(':', '\\:')
}

/** A positional value must also escape `=`, or the tokenizer would read it as a keyword. */
function quotePositional(argument: string): string {
  return quoteStringArgument(argument).replaceAll('=', '\\=')
}

function options(pairs: [key: string, value: string | number | undefined][]): string {
  return pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined)
    .map(([key, value]) => {
      return `:${key}=${typeof value === 'string' ? quoteStringArgument(value) : value}`
    })
    .join('')
}

/**
 * The canonical description of an endpoint: keyword form for tcp/ssl/fd (as daphne builds them),
 * `unix:PATH` positional; defaults are left out. `parseEndpoint(formatEndpoint(e))` equals `e`.
 */
export function formatEndpoint(endpoint: Endpoint): string {
  switch (endpoint.kind) {
    case 'tcp':
      return `tcp:port=${endpoint.port}${options([
        ['interface', endpoint.host || undefined],
        ['backlog', endpoint.backlog],
      ])}`
    case 'ssl':
      return `ssl:port=${endpoint.port}${options([
        ['privateKey', endpoint.privateKey],
        ['certKey', endpoint.certKey],
        ['interface', endpoint.host || undefined],
        ['backlog', endpoint.backlog],
        ['extraCertChain', endpoint.extraCertChain],
        ['dhParameters', endpoint.dhParameters],
        ['sslmethod', endpoint.sslmethod],
      ])}`
    case 'unix':
      return `unix:${quotePositional(endpoint.path)}${options([
        [
          'mode',
          endpoint.mode === undefined || endpoint.mode === DEFAULT_UNIX_MODE
            ? undefined
            : endpoint.mode.toString(8),
        ],
        ['backlog', endpoint.backlog],
        ['lockfile', endpoint.lockfile ? undefined : 0],
      ])}`
    case 'fd':
      return `fd:fileno=${endpoint.fileno}${options([['domain', endpoint.domain]])}`
  }
}

/**
 * The endpoint as a listen error names it: `tcp:127.0.0.1:8000`, `ssl:[::1]:8443`, `tcp:*:8000`
 * (all interfaces), `unix:/tmp/x.sock`, `fd:3`.
 */
export function endpointLabel(endpoint: Endpoint): string {
  switch (endpoint.kind) {
    case 'unix':
      return `unix:${endpoint.path}`
    case 'fd':
      return `fd:${endpoint.fileno}`
    default: {
      const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host || '*'
      return `${endpoint.kind}:${host}:${endpoint.port}`
    }
  }
}

/** How a host reads in a URL: all-interfaces as 0.0.0.0, IPv6 literals in brackets. */
function urlHost(host: string): string {
  // Daphne's runserver banner prints `http://0:8000/` for `0:8000`; show what it binds instead.
  if (host === '' || host === '0') return '0.0.0.0'
  return host.includes(':') ? `[${host}]` : host
}

/**
 * A human URL for banners and logs: `http://127.0.0.1:8000/`, `https://[::1]:8443/`,
 * `http+unix:///tmp/x.sock`, `fd://3`.
 */
export function describeEndpoint(target: Endpoint | BoundAddress): string {
  switch (target.kind) {
    case 'tcp':
    case 'ssl':
      return `${target.kind === 'ssl' ? 'https' : 'http'}://${urlHost(target.host)}:${target.port}/`
    case 'unix':
      return `http+unix://${target.path}`
    case 'fd':
      return `fd://${target.fileno}`
  }
}
