import { describe } from 'vitest'
import { runBadInputSuite } from './bad-input.suite.js'

describe('bad input on the uws reactor', () => runBadInputSuite('uws'))
