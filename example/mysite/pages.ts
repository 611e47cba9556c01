/**
 * HTML pages: the room chooser at `/` and the chat room at `/chat/<room>/`. Their scripts and
 * styles are static files under STATIC_URL.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AsyncHttpConsumer, getSettings } from 'channels-ts'

/** Answers with one HTML file from the project's static folder. */
export class PageConsumer extends AsyncHttpConsumer {
  /** The file under static/, set per route with `asAsgi({ page })`. */
  page = 'index.html'

  override async handle(): Promise<void> {
    // BASE_DIR is the folder holding settings.ts (runserver sets it when the settings don't).
    const baseDir = getSettings().BASE_DIR ?? '.'
    const html = await readFile(join(baseDir, 'static', this.page))
    await this.sendResponse(200, html, {
      headers: { 'content-type': 'text/html; charset=utf-8' },
    })
  }
}
