/**
 * The pieces of `serve --workers` that need no processes: the restart backoff, the in-memory
 * layer refusal, the access log's pipe-sized writes, and the option's parsing. The processes
 * themselves are tested over real sockets in test/e2e/workers.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InMemoryChannelLayer } from '../../../src/framework/layers/in-memory.js'
import { linePieces } from '../../../src/cli/turn-buffer.js'
import {
  Backoff,
  FIRST_DELAY_MS,
  MAX_DELAY_MS,
  STABLE_MS,
} from '../../../src/cli/workers/backoff.js'
import { refuseInMemoryLayers } from '../../../src/cli/workers/in-memory-check.js'
import { runCli } from '../fake-server.js'

describe('Backoff', () => {
  it('restarts at once, then doubles the wait on each quick death up to the ceiling', () => {
    const backoff = new Backoff()
    const delays = Array.from({ length: 10 }, () => backoff.died(100))
    expect(delays).toEqual([
      0,
      FIRST_DELAY_MS,
      FIRST_DELAY_MS * 2,
      FIRST_DELAY_MS * 4,
      FIRST_DELAY_MS * 8,
      FIRST_DELAY_MS * 16,
      FIRST_DELAY_MS * 32,
      MAX_DELAY_MS,
      MAX_DELAY_MS,
      MAX_DELAY_MS,
    ])
  })

  it('a worker that stayed up resets the count: its death restarts at once', () => {
    const backoff = new Backoff()
    backoff.died(100)
    backoff.died(100)
    expect(backoff.died(STABLE_MS)).toBe(0)
    expect(backoff.died(100)).toBe(FIRST_DELAY_MS)
  })
})

describe('refuseInMemoryLayers', () => {
  class MyLayer extends InMemoryChannelLayer {}
  const settings = (BACKEND: unknown) => ({ CHANNEL_LAYERS: { default: { BACKEND } } })

  it.each([
    ['channels.layers.InMemoryChannelLayer'],
    ['InMemoryChannelLayer'],
    [InMemoryChannelLayer],
    [MyLayer],
  ])('refuses %s with more than one worker, naming the setting and Redis', (backend) => {
    expect(() => refuseInMemoryLayers(settings(backend), 2)).toThrow(
      /^--workers 2 needs a channel layer the workers share: CHANNEL_LAYERS\['default'\] is .*groups would be split across the 2 workers.*\nSet CHANNEL_LAYERS\['default'\] to a Redis layer.*REDIS_URL/s,
    )
  })

  it('names the alias that is in memory', () => {
    const layers = {
      CHANNEL_LAYERS: {
        default: { BACKEND: 'channels_redis.core.RedisChannelLayer' },
        local: { BACKEND: 'InMemoryChannelLayer' },
      },
    }
    expect(() => refuseInMemoryLayers(layers, 3)).toThrow(/CHANNEL_LAYERS\['local'\]/)
  })

  it.each([
    ['one worker', settings('InMemoryChannelLayer'), 1],
    ['a Redis layer', settings('channels_redis.pubsub.RedisPubSubChannelLayer'), 4],
    ['no CHANNEL_LAYERS', {}, 4],
  ])('accepts %s', (_, given, workers) => {
    expect(() => refuseInMemoryLayers(given, workers)).not.toThrow()
  })
})

describe('linePieces', () => {
  it('passes text within the limit on whole', () => {
    expect(linePieces('a\nb\n', 4096)).toEqual(['a\nb\n'])
  })

  it('cuts longer text after newlines into pieces within the limit; a longer line goes alone', () => {
    const line = (n: number) => `${'x'.repeat(n - 1)}\n`
    const text = line(30) + line(30) + line(50) + line(10) + line(80) + line(5)
    const pieces = linePieces(text, 64)
    expect(pieces.join('')).toBe(text)
    expect(pieces).toEqual([line(30) + line(30), line(50) + line(10), line(80), line(5)])
  })

  it('counts UTF-8 bytes, not characters', () => {
    const wide = `${'é'.repeat(20)}\n` // 41 bytes
    expect(linePieces(wide + wide, 64)).toEqual([wide, wide])
  })
})

describe('serve --workers', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'channels-workers-'))
    writeFileSync(join(dir, 'app.mjs'), 'export const application = async () => {}\n')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it.each(['0', '-1', 'two', '1.5'])('--workers %s is a usage error (exit 2)', async (value) => {
    const result = await runCli(['serve', 'app.mjs:application', '--workers', value], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      `argument --workers: invalid value: '${value}' (a whole number ≥ 1, or auto)`,
    )
  })

  it('--workers 1 is a single server listening exclusively, as without the option', async () => {
    const result = await runCli(['serve', 'app.mjs:application', '-v', '0', '--workers', '1'], {
      cwd: dir,
    })
    expect(result.code).toBe(0)
    expect(result.server.started).toBe(true)
    expect(result.server.options?.exclusive).toBeUndefined()
  })
})
