/**
 * `HttpCommunicator`: make one HTTP request to an application in-process.
 * @module
 */
import { AssertionError } from 'node:assert'
import type { HeaderPair, HttpScope } from '../asgi/types.js'
import { ApplicationCommunicator, type ApplicationLike } from './communicator.js'
import { scopeHeaders, splitPath, type TestHeader } from './scope-path.js'
import { describeValue } from '../../util/describe.js'

/** What `getResponse()` returns. */
export interface HttpTestResponse {
  status: number
  headers: HeaderPair[]
  body: Buffer
}

/** Options for an HttpCommunicator's request. */
export interface HttpCommunicatorOptions {
  /** Request body (a string is UTF-8 encoded). */
  body?: string | Uint8Array
  /** Request headers (names are lower-cased). */
  headers?: Iterable<TestHeader>
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError({ message })
}

/** Sends one `http.request` and collects the response. `path` may carry a query string. */
export class HttpCommunicator extends ApplicationCommunicator {
  readonly #body: Uint8Array
  #sentRequest = false

  constructor(
    application: ApplicationLike,
    method: string,
    path: string,
    options: HttpCommunicatorOptions = {},
  ) {
    if (typeof method !== 'string')
      throw new TypeError(`Expected str method, got ${describeValue(method)}`)
    const { path: decoded, query_string } = splitPath(path)
    const scope: HttpScope = {
      type: 'http',
      http_version: '1.1',
      method: method.toUpperCase(),
      path: decoded,
      query_string,
      headers: scopeHeaders(options.headers),
    }
    const body = options.body ?? new Uint8Array(0)
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new TypeError(`Request body must be a string or Uint8Array, got ${describeValue(body)}`)
    }
    super(application, scope)
    this.#body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  }

  /** Send the request (once), then collect `http.response.start` and every body chunk. */
  async getResponse(timeout = 1000): Promise<HttpTestResponse> {
    await this.sendRequest()
    const start = await this.receiveOutput(timeout)
    check(
      start.type === 'http.response.start',
      `Expected type 'http.response.start', but was '${start.type}'`,
    )
    const chunks: Uint8Array[] = []
    for (;;) {
      const chunk = await this.receiveOutput(timeout)
      check(
        chunk.type === 'http.response.body',
        `Expected type 'http.response.body', but was '${chunk.type}'`,
      )
      if (chunk.body !== undefined) chunks.push(chunk.body)
      if (!chunk.more_body) break
    }
    return {
      status: start.status,
      headers: start.headers === undefined ? [] : [...start.headers],
      body: Buffer.concat(chunks),
    }
  }

  /** Send the `http.request` event with the whole body (only the first call does anything). */
  async sendRequest(): Promise<void> {
    if (this.#sentRequest) return
    this.#sentRequest = true
    await this.sendInput({ type: 'http.request', body: this.#body, more_body: false })
  }
}
