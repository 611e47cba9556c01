import { describe, expect, it } from 'vitest'
import { NodeReactor } from '../../src/reactor/node.js'
import { runReactorContract } from './contract.js'
import { OPTIONS } from './harness.js'

runReactorContract('node', (options) => new NodeReactor(options))

describe('NodeReactor', () => {
  it('names its engine', () => {
    expect(new NodeReactor(OPTIONS).engine).toBe(`node:http + ws (Node ${process.versions.node})`)
  })
})
