/** Drive an ASGI app through one HTTP request in-process (no sockets). */
import type { Application, AsgiSendEvent, HeaderPair } from '../../src/framework/asgi/types.js'

export interface HttpCallResult {
  status: number
  headers: Record<string, string>
  body: Buffer
  chunks: number
}

export async function callHttp(
  app: Application,
  rawPath: string,
  { method = 'GET', headers = [] as [string, string][] } = {},
): Promise<HttpCallResult> {
  const sent: AsgiSendEvent[] = []
  const [path = '', query = ''] = rawPath.split('?')
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    decoded = path
  }
  const headerPairs: HeaderPair[] = headers.map(([k, v]) => [
    Buffer.from(k.toLowerCase()),
    Buffer.from(v),
  ])
  let delivered = false
  await app(
    {
      type: 'http',
      asgi: { version: '3.0' },
      http_version: '1.1',
      method,
      scheme: 'http',
      path: decoded,
      raw_path: Buffer.from(path, 'latin1'),
      query_string: Buffer.from(query),
      root_path: '',
      headers: headerPairs,
      client: ['127.0.0.1', 5000],
      server: ['127.0.0.1', 8000],
    },
    async () => {
      if (!delivered) {
        delivered = true
        return { type: 'http.request', body: Buffer.alloc(0), more_body: false }
      }
      return new Promise(() => undefined)
    },
    async (event) => {
      sent.push(event)
    },
  )
  const start = sent.find((e) => e.type === 'http.response.start')
  if (!start) throw new Error('no response start')
  const bodies = sent.filter((e) => e.type === 'http.response.body')
  const body = Buffer.concat(bodies.map((e) => (e.body ? Buffer.from(e.body) : Buffer.alloc(0))))
  const out: Record<string, string> = {}
  for (const [k, v] of start.headers ?? [])
    out[Buffer.from(k).toString('latin1')] = Buffer.from(v).toString('latin1')
  return { status: start.status, headers: out, body, chunks: bodies.length }
}
