/**
 * runserver's `[addrport]` argument, parsed with Django's grammar (`naiveip_re` in
 * django/core/management/commands/runserver.py): `PORT`, `IPV4:PORT`, `[IPV6]:PORT` or `FQDN:PORT`.
 * @module
 */
import { CommandError } from './errors.js'

/** Where runserver binds, and how the banner spells it. */
export interface AddrPort {
  addr: string
  port: number
  /** True when the address is a raw IPv6 literal (`[::1]:8000`, or the `-6` default): bracketed in URLs. */
  ipv6: boolean
}

// Django's naiveip_re, with named groups renamed for JS.
const NAIVE_IP = new RegExp(
  String.raw`^(?:(?<addr>(?<ipv4>\d{1,3}(?:\.\d{1,3}){3})|(?<ipv6>\[[a-fA-F0-9:]+\])|` +
    String.raw`(?<fqdn>[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)):)?(?<port>\d+)$`,
)

const DEFAULT_ADDR = '127.0.0.1'
const DEFAULT_IPV6_ADDR = '::1'
const DEFAULT_PORT = 8000

/** Parse `addrport` (undefined → the default) the way Django's runserver does. */
export function parseAddrport(addrport: string | undefined, useIpv6 = false): AddrPort {
  if (addrport === undefined) {
    return { addr: useIpv6 ? DEFAULT_IPV6_ADDR : DEFAULT_ADDR, port: DEFAULT_PORT, ipv6: useIpv6 }
  }
  const m = NAIVE_IP.exec(addrport)
  if (!m?.groups) {
    throw new CommandError(`"${addrport}" is not a valid port number or address:port pair.`)
  }
  const { addr, ipv4, ipv6, fqdn, port } = m.groups
  const portNumber = Number(port)
  if (portNumber > 65535) {
    throw new CommandError(`"${addrport}" is not a valid port number or address:port pair.`)
  }
  if (addr === undefined) {
    return { addr: useIpv6 ? DEFAULT_IPV6_ADDR : DEFAULT_ADDR, port: portNumber, ipv6: useIpv6 }
  }
  if (ipv6 !== undefined) {
    return { addr: ipv6.slice(1, -1), port: portNumber, ipv6: true }
  }
  if (useIpv6 && ipv4 !== undefined) {
    throw new CommandError(`"${addr}" is not a valid IPv6 address.`)
  }
  // Django allows an FQDN with -6 but prints it unbracketed (its `_raw_ipv6` stays false).
  return { addr: ipv4 ?? fqdn ?? addr, port: portNumber, ipv6: false }
}

/** `http://ADDR:PORT/` as the banner prints it (IPv6 bracketed, `0` left as `0` like Daphne). */
export function displayUrl(addr: string, port: number, ipv6: boolean): string {
  return `http://${ipv6 ? `[${addr}]` : addr}:${port}/`
}
