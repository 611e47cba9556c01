/**
 * The dashboard in a real browser (headless Chromium through playwright-core, as the chat test),
 * against `channels runserver` on a startproject project: the dashboard and two chat tabs in one
 * room; the page shows the connections, the room's group with its two members and the message
 * rate rising as the tabs chat; saving the consumer file adds a generation (and a broken save
 * shows the build error with its code frame); the close button ends one chat tab's socket, and
 * that tab says so.
 *
 * With DASHBOARD_SCREENSHOTS=<folder> the test saves its screenshots there (docs/ holds the
 * README's); otherwise into its temporary folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, launchChromium, runBin, startRunserver, type Spawned } from './helpers.js'

const ROOM = 'dashboard'

let root: string
let project: string
let server: Spawned & { port: number }
let browser: Browser

beforeAll(async () => {
  ensureBuilt()
  root = mkdtempSync(join(tmpdir(), 'channels-e2e-dashboard-browser-'))
  const created = runBin(['startproject', 'mysite'], root)
  if (created.status !== 0) throw new Error(`startproject failed: ${created.stderr}`)
  project = join(root, 'mysite')
  server = await startRunserver(project)
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

function screenshotPath(name: string): string {
  const folder = process.env.DASHBOARD_SCREENSHOTS
  return folder ? resolve(folder, name) : join(root, name)
}

const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? ''

describe('the dashboard page', () => {
  it('shows the chat live, a new generation on save, and closes a chat socket', async () => {
    const url = `http://127.0.0.1:${server.port}`
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } })
    const dashboard = await context.newPage()
    await dashboard.goto(`${url}/_channels/`)
    await dashboard.waitForSelector('#status.live')

    const [first, second] = await Promise.all([context.newPage(), context.newPage()])
    for (const page of [first, second]) {
      await page.goto(`${url}/chat/${ROOM}/`)
      await page.waitForSelector('body[data-connected="true"]')
    }

    // The two chat sockets (the dashboard's own is not the project's traffic).
    await expect.poll(() => text(dashboard, '#websockets-open'), { timeout: 10_000 }).toBe('2')
    const group = `tr[data-group="chat_${ROOM}"]`
    await expect.poll(() => text(dashboard, `${group} .members-count`)).toBe('2')
    await dashboard.click(group)
    await expect
      .poll(() => text(dashboard, `tr[data-members-of="chat_${ROOM}"]`))
      .toMatch(/specific\..*inmemory!.*specific\..*inmemory!/)

    // Chat: ten messages a second (each to both tabs): the message rate and the group's rate rise.
    for (let i = 0; i < 20; i++) {
      const page = i % 2 === 0 ? first : second
      await page.fill('#chat-message-input', `message ${i}`)
      await page.press('#chat-message-input', 'Enter')
      await new Promise((done) => setTimeout(done, 100))
    }
    await expect.poll(() => second.inputValue('#chat-log')).toContain('message 19')
    await expect
      .poll(async () => Number(await text(dashboard, '#messages-rate')), { timeout: 5_000 })
      .toBeGreaterThanOrEqual(10)
    await expect
      .poll(async () => Number(await text(dashboard, `${group} .group-rate`)), { timeout: 5_000 })
      .toBeGreaterThan(0)
    await dashboard.screenshot({ path: screenshotPath('dashboard.png'), fullPage: true })

    // Save the consumer file: generation 2 serves new connections; 1 keeps the two chats.
    const consumers = join(project, 'chat/consumers.ts')
    const source = readFileSync(consumers, 'utf8')
    writeFileSync(consumers, `${source}\n// saved while the dashboard watches\n`)
    await dashboard.waitForSelector('#generations tr[data-generation="2"]', { timeout: 20_000 })
    await expect
      .poll(() => text(dashboard, '#generations tr[data-generation="1"]'))
      .toMatch(/^12retiring$/)
    await expect.poll(() => text(dashboard, '#last-build')).toMatch(/Last build ok.*generation 2/)

    // A broken save: the build error with its code frame; generation 2 keeps serving.
    writeFileSync(consumers, `${source}\nexport const broken = (\n`)
    await dashboard.waitForSelector('#build-error', { timeout: 20_000 })
    expect(await text(dashboard, '#build-error')).toMatch(/consumers\.ts:\d+:\d+/)
    await dashboard.screenshot({ path: screenshotPath('dashboard-build-error.png') })
    writeFileSync(consumers, source)
    await dashboard.waitForSelector('#generations tr[data-generation="3"]', { timeout: 20_000 })

    // Close one chat socket from the dashboard.
    const row = dashboard.locator('#connections tbody tr', {
      has: dashboard.locator('td', { hasText: `/ws/chat/${ROOM}/` }),
    })
    const id = await row.first().getAttribute('data-connection')
    await dashboard.locator(`button[data-close="${id}"]`).click()
    await expect
      .poll(async () => {
        const states = await Promise.all(
          [first, second].map((page) => page.getAttribute('body', 'data-connected')),
        )
        return states.sort()
      })
      .toEqual(['false', 'true'])
    const closed = (await first.getAttribute('body', 'data-connected')) === 'false' ? first : second
    expect(await text(closed, '#status')).toContain('closed')
    await expect.poll(() => text(dashboard, '#websockets-open')).toBe('1')
    await expect
      .poll(() => text(dashboard, '#log'))
      .toContain(`Connection ${id} closed from the dashboard`)
    await context.close()
  }, 120_000)
})
