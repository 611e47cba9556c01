/**
 * The reactor contract: one suite every reactor passes (hono's `runTest({ newRouter })`,
 * uvicorn's parametrised `ws_protocol_cls`), run by `uws.test.ts` and `node.test.ts`.
 *
 * Where the reactors differ, the suite says so (each is a limit of the library, not a choice):
 * - Oversized message: uWS ends the TCP connection without a close frame (client sees 1006, the
 *   server's onClose gets 1006 "Received too big message"); ws sends close 1009. Invalid UTF-8 in
 *   a text frame likewise: uWS 1006, ws 1007.
 * - An unmasked client frame: ws closes with 1002; uWS 20.30 does not enforce client masking and
 *   reads the first four payload bytes as the mask key (garbage in, no close).
 * - A client's close code: ws echoes every valid one and answers an invalid one with 1002; uWS
 *   20.30 takes only 1000–1011 and 4000–4999 for valid and answers any other without a code
 *   (onClose gets 1006). test/server/websocket-protocol.test.ts shows each.
 * - Malformed request heads (CR/LF/NUL injection, HTTP/1.0 request lines, garbage): node answers
 *   400 Bad Request and closes; uWS 20.30 answers nothing and closes on its HTTP idle timeout
 *   (~10 s). Neither passes the request on. uWS 20.30 does not serve HTTP/1.0 at all.
 * - Request fields: uWS reports `httpVersion` '1.1' always, `remote.port` 0 (20.30 exposes no peer
 *   port) and `local` as the listen address ('0.0.0.0' for all interfaces; no per-connection local
 *   address). Header values are latin-1 on both, but uWS trims non-ASCII bytes at the END of a
 *   value (its parser treats bytes ≥ 0x80 as whitespace there). Raw non-ASCII bytes in a request
 *   target: node answers 400, uWS decodes them as UTF-8.
 * - Response headers: uWS always adds `Date` and `uWebSockets: 20` (no per-response switch), so an
 *   app's own Date header is dropped there; node adds Date only when the app sent none. An app's
 *   `Connection: close` on a streamed (chunked or Content-Length) response: node closes after it,
 *   uWS sends the header but leaves closing to the client (its close flag would corrupt the body).
 * - A non-WebSocket `Upgrade` (h2c …) with `Connection: upgrade`: uWS serves it as plain HTTP;
 *   node routes it to its upgrade path and the reactor answers 400.
 * - HTTP pipelining: node queues pipelined requests and answers in order; uWS 20.30 closes the
 *   connection when a request arrives while an earlier one is still unanswered (onAborted fires,
 *   and answers already corked for earlier pipelined requests are lost with it).
 * - fd endpoints: node only; uWS rejects them with a clear error.
 * @module
 */
import { describe } from 'vitest'
import type { ReactorName } from '../../../src/server/reactor/types.js'
import { badInputContract } from './contract-bad-input.js'
import { httpContract } from './contract-http.js'
import { listenContract } from './contract-listen.js'
import { websocketContract } from './contract-websocket.js'
import { useReactor, type CreateReactor } from './harness.js'

/** Register the whole contract suite for one reactor. */
export function runReactorContract(name: ReactorName, create: CreateReactor): void {
  describe(`reactor contract: ${name}`, () => {
    const harness = useReactor(async (options) => {
      const reactor = await create(options)
      if (reactor.name !== name) throw new Error(`expected reactor ${name}, got ${reactor.name}`)
      return reactor
    })
    listenContract(name, harness)
    httpContract(name, harness)
    websocketContract(name, harness)
    badInputContract(name, harness)
  })
}
