import { describe, expect, it } from 'vitest'
import type { Receive, Scope, Send } from '../../../src/framework/asgi/types.js'
import { AsgiCallable } from '../../../src/framework/routing/index.js'
import { receive, send } from './helpers.js'

class Recorder extends AsgiCallable {
  readonly seen: Scope[] = []
  constructor(readonly label: string) {
    super()
  }
  override async asgi(scope: Scope, _receive: Receive, _send: Send): Promise<void> {
    this.seen.push(scope)
  }
}

describe('AsgiCallable', () => {
  it('makes instances callable functions that keep their class, fields and methods', async () => {
    const app = new Recorder('a')
    expect(typeof app).toBe('function')
    expect(app).toBeInstanceOf(Recorder)
    expect(app).toBeInstanceOf(AsgiCallable)
    expect(app).toBeInstanceOf(Function)
    expect(app.name).toBe('Recorder')
    expect(app.length).toBe(3)
    expect(app.label).toBe('a')
    const scope = { type: 'http' } as unknown as Scope
    await app(scope, receive, send)
    await app.apply(undefined, [scope, receive, send])
    await app.bind(null)(scope, receive, send)
    expect(app.seen).toEqual([scope, scope, scope])
  })

  it('gives every instance its own state', async () => {
    const a = new Recorder('a')
    const b = new Recorder('b')
    await a({ type: 'http' } as unknown as Scope, receive, send)
    expect(a.seen).toHaveLength(1)
    expect(b.seen).toHaveLength(0)
    expect(a).not.toBe(b)
  })
})
