/**
 * The template's chat page in a real browser (headless Chromium, as in Channels'
 * sample_project test_selenium.py): two pages in one room, a message typed in one shows in both,
 * and the page shows who the consumer says we are.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, launchChromium, runBin, startRunserver, type Spawned } from './helpers.js'

let root: string
let server: Spawned & { port: number }
let browser: Browser

beforeAll(async () => {
  ensureBuilt()
  root = mkdtempSync(join(tmpdir(), 'channels-e2e-browser-'))
  const created = runBin(['startproject', 'mysite'], root)
  if (created.status !== 0) throw new Error(`startproject failed: ${created.stderr}`)
  server = await startRunserver(join(root, 'mysite'), ['--noreload'])
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  // Unset when beforeAll failed.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
  await browser?.close()
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
  await server?.stop('SIGINT')
  rmSync(root, { recursive: true, force: true })
})

describe('chat page', () => {
  it('broadcasts a message typed in one page to another page in the room', async () => {
    const context = await browser.newContext()
    const [first, second] = await Promise.all([context.newPage(), context.newPage()])
    const url = `http://127.0.0.1:${server.port}`

    // The room chooser leads to the room page.
    await first.goto(`${url}/`)
    await first.fill('#room-name-input', 'browsers')
    await first.click('#room-name-submit')
    await first.waitForURL(`${url}/chat/browsers/`)
    await second.goto(`${url}/chat/browsers/`)
    for (const page of [first, second]) {
      await page.waitForSelector('body[data-connected="true"]')
      // The consumer's hello: scope.user from AuthMiddlewareStack (anonymous here).
      await expect.poll(() => page.textContent('#user-name')).toBe('an anonymous visitor')
    }

    await first.fill('#chat-message-input', 'hello from the first page')
    await first.click('#chat-message-submit')
    await expect.poll(() => second.inputValue('#chat-log')).toContain('hello from the first page')
    await expect.poll(() => first.inputValue('#chat-log')).toContain('hello from the first page')

    await second.fill('#chat-message-input', 'and back')
    await second.press('#chat-message-input', 'Enter')
    await expect.poll(() => first.inputValue('#chat-log')).toContain('and back')
    await context.close()
  })
})
