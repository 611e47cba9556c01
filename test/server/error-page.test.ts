import { describe, expect, it } from 'vitest'
import { errorPage, errorPageHtml } from '../../src/server/error-page.js'

describe('error page (Daphne basic_error template)', () => {
  it("renders Daphne's collapsed template with our footer", () => {
    expect(errorPageHtml(400, 'Invalid header name')).toBe(
      ' <html> <head> <title>400 Bad Request</title> <style>  body { font-family: sans-serif; margin: 0; padding: 0; }' +
        '  h1 { padding: 0.6em 0 0.2em 20px; color: #896868; margin: 0; }  p { padding: 0 0 0.3em 20px; margin: 0; }' +
        '  footer { padding: 1em 0 0.3em 20px; color: #999; font-size: 80%; font-style: italic; } </style> </head>' +
        ' <body> <h1>400 Bad Request</h1> <p>Invalid header name</p> <footer>channels-ts</footer> </body> </html> ',
    )
  })

  it('escapes the message', () => {
    expect(errorPageHtml(500, '<script>')).toContain('<p>&lt;script&gt;</p>')
  })

  it('sends text/html with a length, and Server unless the name is empty', () => {
    const page = errorPage(503, 'Application failed to respond within time limit.', 'channels-ts')
    expect(page.head.status).toBe(503)
    expect(page.head.headers).toEqual([
      ['Content-Type', 'text/html; charset=utf-8'],
      ['Server', 'channels-ts'],
      ['Content-Length', String(page.body.byteLength)],
    ])
    expect(errorPage(400, 'x', '').head.headers.map(([n]) => n)).toEqual([
      'Content-Type',
      'Content-Length',
    ])
  })
})
