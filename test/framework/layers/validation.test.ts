import { describe, expect, it } from 'vitest'
import {
  nonLocalName,
  requireValidChannelName,
  requireValidGroupName,
  requireValidMessage,
} from '../../../src/framework/layers/validation.js'

const CHANNEL_ERROR =
  'Channel name must be a valid unicode string with length < 100 containing only ASCII ' +
  'alphanumerics, hyphens, underscores, or periods.'
const GROUP_ERROR =
  'Group name must be a valid unicode string with length < 100 containing only ASCII ' +
  'alphanumerics, hyphens, underscores, or periods.'

describe('name validation (tests/test_layers.py)', () => {
  it('test_channel_and_group_name_validation', () => {
    expect(() => requireValidChannelName('chat')).not.toThrow()
    expect(() => requireValidGroupName('chat')).not.toThrow()
    expect(() => requireValidChannelName('¯\\_(ツ)_/¯')).toThrow(TypeError)
    expect(() => requireValidGroupName('¯\\_(ツ)_/¯')).toThrow(TypeError)
    expect(() => requireValidChannelName('chat'.repeat(100))).toThrow(TypeError)
    expect(() => requireValidGroupName('chat'.repeat(100))).toThrow(TypeError)
  })

  it('test_group_name_length_error_message', () => {
    expect(() => requireValidGroupName('a'.repeat(101))).toThrow(new TypeError(GROUP_ERROR))
  })

  it('test_channel_name_length_error_message', () => {
    expect(() => requireValidChannelName('a'.repeat(101))).toThrow(new TypeError(CHANNEL_ERROR))
  })

  it('allows 99 characters and refuses 100', () => {
    expect(() => requireValidChannelName('a'.repeat(99))).not.toThrow()
    expect(() => requireValidGroupName('a'.repeat(99))).not.toThrow()
    expect(() => requireValidChannelName('a'.repeat(100))).toThrow(CHANNEL_ERROR)
    expect(() => requireValidGroupName('a'.repeat(100))).toThrow(GROUP_ERROR)
  })

  it('accepts the full ASCII alphabet of names', () => {
    expect(() => requireValidChannelName('Az09-_.')).not.toThrow()
    expect(() => requireValidGroupName('Az09-_.')).not.toThrow()
  })

  it.each([
    ['empty', ''],
    ['a space', 'a b'],
    ['a slash', 'a/b'],
    ['a trailing newline (Python $ would accept it)', 'chat\n'],
    ['non-ASCII digits (Python \\d would accept them)', 'chat٣'],
    ['a leading !', '!abc'],
    ['two !', 'a!b!c'],
    ['a colon', 'a:b'],
  ])('refuses a channel name with %s', (_label, name) => {
    expect(() => requireValidChannelName(name)).toThrow(new TypeError(CHANNEL_ERROR))
  })

  it.each([[undefined], [null], [42], [{}], [['chat']], [Symbol('chat')]])(
    'refuses a non-string name %s',
    (name) => {
      expect(() => requireValidChannelName(name)).toThrow(new TypeError(CHANNEL_ERROR))
      expect(() => requireValidGroupName(name)).toThrow(new TypeError(GROUP_ERROR))
    },
  )

  it('accepts process-specific channel names but no ! in groups', () => {
    expect(() => requireValidChannelName('specific..inmemory!AbCdEf')).not.toThrow()
    expect(() => requireValidChannelName('specific.abc!')).not.toThrow()
    expect(() => requireValidChannelName('specific.abc!x_y-z.1')).not.toThrow()
    expect(() => requireValidGroupName('specific.abc!')).toThrow(new TypeError(GROUP_ERROR))
  })

  it('with receive=true, a specific name must end at the !', () => {
    expect(() => requireValidChannelName('specific.abc!', true)).not.toThrow()
    expect(() => requireValidChannelName('plain', true)).not.toThrow()
    expect(() => requireValidChannelName('specific.abc!xyz', true)).toThrow(
      new TypeError('Specific channel names in receive() must end at the !'),
    )
  })

  it('nonLocalName keeps the part up to and including the !', () => {
    expect(nonLocalName('specific.abc!xyz')).toBe('specific.abc!')
    expect(nonLocalName('plain.name')).toBe('plain.name')
  })
})

describe('message validation', () => {
  it('accepts an object with a string type', () => {
    expect(() => requireValidMessage({ type: 'chat.message', text: 'hi' })).not.toThrow()
  })

  it.each([
    [null, 'got null'],
    [undefined, 'got undefined'],
    ['chat.message', 'got a string'],
    [5, 'got a number'],
    [[{ type: 'x' }], 'got an array'],
  ])('refuses %s with a clear TypeError', (message, detail) => {
    expect(() => requireValidMessage(message)).toThrow(TypeError)
    expect(() => requireValidMessage(message)).toThrow(
      `Message must be an object (a dict in Channels), ${detail}`,
    )
  })

  it('requires a string type', () => {
    expect(() => requireValidMessage({ text: 'hi' })).toThrow(
      new TypeError("Message must have a string 'type' key, got undefined"),
    )
    expect(() => requireValidMessage({ type: 3 })).toThrow('got a number')
  })

  it('refuses the reserved __asgi_channel__ key', () => {
    expect(() => requireValidMessage({ type: 'x', __asgi_channel__: 'a!b' })).toThrow(
      new TypeError("Message must not contain the reserved key '__asgi_channel__'"),
    )
  })
})
