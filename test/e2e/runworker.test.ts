/**
 * `channels runworker` as a real process (dist/bin/channels.js) on a real redis-server with
 * channels_redis's core layer:
 *
 * - the fixture project (test/fixtures/runworker): jobs handled in order by one long-lived
 *   instance, a raising instance logged and replaced, send() refused, a message without type
 *   (sent by Django, which allows it) logged and skipped; SIGTERM lets the message in hand
 *   finish, exits 0, and leaves what was sent during and after the stop in Redis for the next
 *   worker; the refusals and their messages.
 * - the example project: the chat under `channels serve` sends its messages to the `chat-log`
 *   worker, a Django process sends one too, and the room page of a second visitor, served by
 *   `channels runserver` on the same Redis (headless Chromium), shows them; without a worker the
 *   chat works and the page says there is no history, and the messages sent meanwhile reach the
 *   worker once it starts.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { RedisChannelLayer } from '../../src/framework/layers/index.js'
import type { ChannelMessage } from '../../src/framework/asgi/types.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'
import {
  connect,
  ensureBuilt,
  httpGet,
  launchChromium,
  ROOT,
  runBin,
  spawnBin,
  type Spawned,
} from './helpers.js'

const FIXTURE = join(ROOT, 'test/fixtures/runworker')
const EXAMPLE = join(ROOT, 'example')
const PYTHON = '/usr/bin/python3'

let redis: RedisServer
let layer: RedisChannelLayer
let scratch: string
const spawned: Spawned[] = []

beforeAll(async () => {
  ensureBuilt()
  redis = await startRedis()
  layer = new RedisChannelLayer({ hosts: [redis.url] })
  scratch = mkdtempSync(join(tmpdir(), 'channels-e2e-runworker-'))
}, 120_000)

afterEach(async () => {
  // Whatever a failed test left running.
  await Promise.all(spawned.splice(0).map((p) => p.stop('SIGKILL')))
})

afterAll(async () => {
  // Unset when beforeAll failed.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- see above */
  await layer?.close()
  await redis?.stop()
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

/** Start `channels runworker ARGS` in `cwd`; resolves once it runs. */
async function startWorker(
  args: string[],
  cwd = FIXTURE,
  env: Record<string, string> = {},
): Promise<Spawned> {
  const worker = spawnBin(['runworker', ...args], cwd, { REDIS_URL: redis.url, ...env })
  spawned.push(worker)
  await worker.waitForOutput(/INFO +Running worker for channels \[/)
  return worker
}

/** stdout lines matching `pattern`, in order. */
function lines(process: Spawned, pattern: RegExp): string[] {
  return process
    .stdout()
    .split('\n')
    .filter((line) => pattern.test(line))
}

/** Send messages from a Django process (channels_redis), as a Django view or task would. */
function sendFromDjango(channel: string, messages: Record<string, unknown>[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      PYTHON,
      ['django_send.py', channel, ...messages.map((m) => JSON.stringify(m))],
      {
        cwd: FIXTURE,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', REDIS_URL: redis.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`django_send.py exited ${code}:\n${output}`)),
    )
  })
}

const send = (channel: string, message: ChannelMessage) => layer.send(channel, message)

describe('runworker on the core Redis layer', () => {
  afterEach(() => redis.cli('FLUSHALL'))

  it('hands the jobs to one long-lived instance in order; a raising one is logged and replaced', async () => {
    const worker = await startWorker(['jobs'])
    expect(worker.stderr()).toContain("Running worker for channels ['jobs']")
    await send('jobs', { type: 'job.run', n: 1 })
    await send('jobs', { type: 'job.run', n: 2 })
    await send('jobs', { type: 'job.fail', n: 3 })
    await send('jobs', { type: 'job.run', n: 4 })
    await send('jobs', { type: 'job.send' })
    await send('jobs', { type: 'job.run', n: 5 })
    await worker.waitForOutput(/job 5 by instance 3/)
    expect(lines(worker, /^job /)).toEqual([
      'job 1 by instance 1',
      'job 2 by instance 1',
      'job 4 by instance 2',
      'job 5 by instance 3',
    ])
    const stderr = worker.stderr()
    // The exception, with its stack (Python's logger.exception).
    expect(stderr).toMatch(
      /ERROR +Exception inside application: job 3 failed\nError: job 3 failed\n +at /,
    )
    expect(stderr).toContain(
      "ERROR    Exception inside application: send() is not available to an application run by a worker: a 'channel' scope has no client",
    )
    expect(await worker.stop('SIGTERM')).toBe(0)
  })

  it('takes messages sent by Django; one without type is logged and skipped', async () => {
    const worker = await startWorker(['jobs', 'other'])
    expect(worker.stderr()).toContain("Running worker for channels ['jobs', 'other']")
    await sendFromDjango('other', [
      { type: 'job.run', n: 'from django' },
      { room: 'lobby', text: 'no type' },
      { type: 'job.run', n: 'after the typeless one' },
    ])
    await worker.waitForOutput(/job after the typeless one by instance \d/)
    expect(lines(worker, /^job /)).toEqual([
      'job from django by instance 1',
      'job after the typeless one by instance 1',
    ])
    expect(worker.stderr()).toContain(
      "ERROR    Worker received message with no type. Skipped a message with keys 'room', 'text'.",
    )
    expect(await worker.stop('SIGINT')).toBe(0)
  })

  it('SIGTERM: finishes the message in hand, exits 0, loses nothing sent during or after the stop', async () => {
    const release = join(scratch, 'release')
    const worker = await startWorker(['jobs'])
    await send('jobs', { type: 'job.slow', n: 's', release })
    await worker.waitForOutput(/slow s started by instance 1/)
    worker.child.kill('SIGTERM')
    await worker.waitForOutput(
      /INFO +Stopping worker \(SIGTERM\): no more messages are taken; waiting for 1 being handled \(at most 10 s\)\./,
    )
    // Sent while the worker stops: it takes no more.
    await send('jobs', { type: 'job.run', n: 'during' })
    writeFileSync(release, '')
    expect(await worker.exited).toBe(0)
    expect(lines(worker, /^(job|slow) /)).toEqual([
      'slow s started by instance 1',
      'slow s finished',
    ])
    expect(worker.stderr()).toMatch(/INFO +Worker stopped\.\n$/)
    // Sent after it stopped.
    await send('jobs', { type: 'job.run', n: 'after' })
    // Both wait in Redis (the queue, or the receive's backup), for the next worker.
    const waiting = Number(await redis.cli('ZCARD', 'asgijobs'))
    const backup = Number(await redis.cli('ZCARD', 'asgijobs$inflight'))
    expect(waiting + backup).toBe(2)

    const next = await startWorker(['jobs'])
    await next.waitForOutput(/job after by instance 1/)
    expect(lines(next, /^job /)).toEqual(['job during by instance 1', 'job after by instance 1'])
    expect(await next.stop('SIGTERM')).toBe(0)
    expect(Number(await redis.cli('ZCARD', 'asgijobs'))).toBe(0)
  })

  it('an idle worker stops at once on SIGINT and exits 0', async () => {
    const worker = await startWorker(['jobs'])
    expect(await worker.stop('SIGINT')).toBe(0)
    expect(worker.stderr()).toMatch(
      /INFO +Stopping worker \(SIGINT\): no more messages are taken\.\n.*INFO +Worker stopped\.\n$/,
    )
  })
})

describe('runworker refuses', () => {
  const run = (args: string[], env: Record<string, string> = {}, cwd = FIXTURE) =>
    runBin(['runworker', ...args], cwd, { REDIS_URL: redis.url, ...env })

  it('to start without CHANNEL_LAYERS', () => {
    const result = run(['jobs'], { LAYER: 'none' })
    expect(result.status).toBe(1)
    expect(result.stderr).toBe('You do not have any CHANNEL_LAYERS configured.\n')
  })

  it('the in-memory layer, which nothing else could send to', () => {
    const result = run(['jobs'], { LAYER: 'memory' })
    expect(result.status).toBe(1)
    expect(result.stderr).toBe(
      "runworker cannot use the in-memory channel layer (CHANNEL_LAYERS 'default': channels.layers.InMemoryChannelLayer): it lives inside one process, so nothing else could send to this worker's channels. Configure a layer processes share, such as channels_redis.core.RedisChannelLayer (README: \"Channel layers\").\n",
    )
    // runserver's default: the example without REDIS_URL.
    const example = runBin(['runworker', 'chat-log'], EXAMPLE)
    expect(example.status).toBe(1)
    expect(example.stderr).toContain('runworker cannot use the in-memory channel layer')
  })

  it('a layer alias that is not configured', () => {
    const result = run(['--layer', 'workers', 'jobs'])
    expect(result.status).toBe(1)
    expect(result.stderr).toBe(
      "You do not have a channel layer 'workers' in CHANNEL_LAYERS (configured: 'default').\n",
    )
  })

  it('no channels, and invalid channel names (usage errors)', () => {
    const none = run([])
    expect(none.status).toBe(2)
    expect(none.stderr).toContain("error: missing required argument 'channels'")
    const bad = run(['jobs', 'bad name'])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toBe(
      "argument channels: Invalid channel name 'bad name': Channel name must be a valid unicode string with length < 100 containing only ASCII alphanumerics, hyphens, underscores, or periods.\n",
    )
    const specific = run(['specific.abc!def'])
    expect(specific.status).toBe(2)
    expect(specific.stderr).toContain("a name with '!' is a process-specific channel")
  })

  it('channels the application does not route', () => {
    const result = run(['jobs', 'thumbnails'])
    expect(result.status).toBe(1)
    expect(result.stderr).toBe(
      "No application configured for channel name 'thumbnails': ASGI_APPLICATION's ChannelNameRouter routes 'jobs', 'other'.\n",
    )
  })
})

describe('the example chat with a chat-log worker', () => {
  // Two server processes on one Redis: the chat goes through `channels serve`; the room page
  // (static files need runserver) and its history request through `channels runserver`.
  let server: Spawned
  let port: number
  let dev: Spawned
  let devPort: number
  let browser: Browser | undefined

  beforeAll(async () => {
    server = spawnBin(['serve', '-p', '0'], EXAMPLE, { REDIS_URL: redis.url })
    dev = spawnBin(['runserver', '127.0.0.1:0', '--noreload'], EXAMPLE, { REDIS_URL: redis.url })
    const match = await server.waitForOutput(/Listening on TCP address 127\.0\.0\.1:(\d+)/)
    port = Number(match[1])
    const devMatch = await dev.waitForOutput(/development server at http:\/\/127\.0\.0\.1:(\d+)\//)
    devPort = Number(devMatch[1])
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    // Unset when beforeAll failed.
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- see above */
    expect(await server?.stop('SIGTERM')).toBe(0)
    expect(await dev?.stop('SIGTERM')).toBe(0)
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  })

  async function history(room: string): Promise<{ messages: unknown[]; kept: boolean }> {
    const response = await httpGet(port, `/chat/${room}/history/`)
    expect(response.status).toBe(200)
    expect(response.type).toBe('application/json')
    return JSON.parse(response.body) as { messages: unknown[]; kept: boolean }
  }

  /** Chat `texts` in `room` as one visitor; resolves once the room has echoed them all. */
  async function chat(room: string, texts: string[]): Promise<void> {
    const client = await connect(port, `/ws/chat/${room}/`)
    expect(await client.nextJson()).toEqual({ user: null })
    for (const message of texts) {
      client.ws.send(JSON.stringify({ message }))
      expect(await client.nextJson()).toEqual({ message, user: null })
    }
    await client.close()
  }

  it('keeps what the chat and Django send; a second visitor’s page shows it', async () => {
    // No worker yet: the chat works, the history is not kept.
    await chat('lobby', ['before the worker'])
    expect(await history('lobby')).toEqual({ messages: [], kept: false })

    // The message sent before it started waited in Redis for it.
    const worker = await startWorker(['chat-log'], EXAMPLE)
    expect(worker.stderr()).toContain("Running worker for channels ['chat-log']")
    await chat('lobby', ['one', 'two'])
    await sendFromDjango('chat-log', [
      { type: 'chat.log', room: 'lobby', user: 'django', message: 'from django' },
    ])
    const expected = [
      { user: null, message: 'before the worker' },
      { user: null, message: 'one' },
      { user: null, message: 'two' },
      { user: 'django', message: 'from django' },
    ]
    await vi.waitFor(
      async () => expect(await history('lobby')).toEqual({ messages: expected, kept: true }),
      {
        timeout: 10_000,
        interval: 100,
      },
    )
    expect(await history('kitchen')).toEqual({ messages: [], kept: true })

    browser = await launchChromium()
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${devPort}/chat/lobby/`)
    await page.waitForSelector('body[data-history="loaded"]')
    expect(await page.inputValue('#chat-log')).toBe(
      'before the worker\none\ntwo\ndjango: from django\n',
    )
    expect(await page.textContent('#history-note')).toBe('')
    await page.close()
    expect(await worker.stop('SIGTERM')).toBe(0)

    // Without the worker again: the page still chats and says there is no history.
    const alone = await browser.newPage()
    await alone.goto(`http://127.0.0.1:${devPort}/chat/lobby/`)
    await alone.waitForSelector('body[data-history="unavailable"]')
    expect(await alone.textContent('#history-note')).toBe(
      'No earlier messages: no chat-log worker answered.',
    )
    await alone.fill('#chat-message-input', 'still chatting')
    await alone.press('#chat-message-input', 'Enter')
    await expect.poll(() => alone.inputValue('#chat-log')).toBe('still chatting\n')
    await alone.close()
  }, 60_000)
})
