/**
 * README's "Consumers and routing" and "Channel layers and groups" examples are the files next
 * to this one, verbatim: `npm run typecheck` compiles them (strict), and here they run, through
 * the package's own name as a user's project would import it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { configureSettings } from 'channels-ts'
import { WebsocketCommunicator } from 'channels-ts/testing'
import { application } from './consumers.js'
import { GameConsumer } from './game.js'

const ROOT = join(import.meta.dirname, '../../..')

/** The ```ts blocks of the README section under `heading`. */
function blocks(heading: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const start = readme.indexOf(heading)
  const section = readme.slice(start, readme.indexOf('\n### ', start + 1))
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
}

/** A file's text after its first line (the comment saying where it comes from). */
function body(file: string): string {
  const text = readFileSync(join(import.meta.dirname, file), 'utf8')
  return text.slice(text.indexOf('\n') + 1)
}

it('README shows these files verbatim', () => {
  expect(blocks('### Consumers and routing')).toEqual([body('consumers.ts'), body('game.ts')])
  expect(blocks('### Channel layers and groups')[0]).toBe(body('timer.ts'))
})

describe('the examples run', () => {
  beforeEach(() => {
    configureSettings({
      CHANNEL_LAYERS: { default: { BACKEND: 'channels.layers.InMemoryChannelLayer' } },
    })
  })
  afterEach(() => configureSettings({}))

  it('chat: a message reaches the room; a frame without a message string is ignored', async () => {
    const ann = new WebsocketCommunicator(application, '/ws/chat/lobby/')
    const bob = new WebsocketCommunicator(application, '/ws/chat/lobby/')
    expect((await ann.connect())[0]).toBe(true)
    expect((await bob.connect())[0]).toBe(true)
    await ann.sendJsonTo({ message: 42 })
    await ann.sendJsonTo({ message: 'hello' })
    expect(await bob.receiveJsonFrom()).toEqual({ message: 'hello' })
    expect(await ann.receiveJsonFrom()).toEqual({ message: 'hello' })

    // timer.ts, run once: the room hears it.
    await import('./timer.js')
    expect(await bob.receiveJsonFrom()).toEqual({ message: 'hello' })
    expect(await bob.receiveNothing()).toBe(true)
    await ann.disconnect()
    await bob.disconnect()
  })

  it('game: validateJson checks each frame; a refused one closes with 1007', async () => {
    const game = new WebsocketCommunicator(GameConsumer.asAsgi(), '/ws/game/')
    expect((await game.connect())[0]).toBe(true)
    await game.sendJsonTo({ x: 1, y: 2 })
    expect(await game.receiveJsonFrom()).toEqual({ accepted: true })
    await game.sendJsonTo({ x: -1, y: 2 })
    expect(await game.receiveJsonFrom()).toEqual({ accepted: false })
    await game.sendJsonTo({ x: 'one', y: 2 })
    expect(await game.receiveOutput()).toEqual({ type: 'websocket.close', code: 1007 })
  })
})
