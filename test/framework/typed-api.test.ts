/**
 * The errors the typed API must report, with their wording: each snippet below is compiled by
 * the TypeScript compiler (this repository's tsconfig, strict) as a file next to this one, and
 * must give exactly the one error expected, on the line marked `// error`. The `// @ts-expect-error`
 * lines of the other type tests prove that an error is reported; this proves it is the right one
 * and that it names the culprit.
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { beforeAll, describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** Where the snippets pretend to live (nothing is written there). */
const DIR = join(ROOT, 'test/framework/__typed_api__')

const PRELUDE = `
import {
  AsyncConsumer, AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer, path, rePath, URLRouter,
} from '../../../src/index.js'
interface ChatLine { message: string; user: string | null }
class ChatConsumer extends AsyncWebsocketConsumer<{
  kwargs: { room_name: string }
  events: { 'chat.message': ChatLine }
}> {
  async chat_message(event: ChatLine) { await this.send({ textData: event.message }) }
}
class ItemConsumer extends AsyncWebsocketConsumer<{ kwargs: { id: number } }> {}
export const used = [AsyncConsumer, AsyncJsonWebsocketConsumer, path, rePath, URLRouter, ChatConsumer, ItemConsumer]
`

/** name → [snippet (after the prelude), the texts its one error must contain]. */
const SNIPPETS: Record<string, [string, string[]]> = {
  'a misspelled route kwarg in path()': [
    `new URLRouter([path('ws/chat/<str:roomname>/', ChatConsumer.asAsgi())]) // error`,
    ['\'route captures a kwarg the consumer does not declare\': "roomname"'],
  ],
  'a misspelled route kwarg in rePath()': [
    `new URLRouter([rePath('^ws/chat/(?<roomname>\\\\w+)/$', ChatConsumer.asAsgi())]) // error`,
    ['\'route captures a kwarg the consumer does not declare\': "roomname"'],
  ],
  'a route that does not capture a declared kwarg': [
    `new URLRouter([path('ws/chat/', ChatConsumer.asAsgi())]) // error`,
    ['\'consumer kwarg the route does not capture\': "room_name"'],
  ],
  'a route kwarg of another type': [
    `new URLRouter([path('items/<str:id>/', ItemConsumer.asAsgi())]) // error`,
    ['\'route kwarg of another type than the consumer declares\': "id"'],
  ],
  'a misspelled kwarg read in the consumer': [
    `class R extends AsyncWebsocketConsumer<{ kwargs: { room_name: string } }> {
      override async connect() {
        await this.send({ textData: this.scope.url_route.kwargs.roomname }) // error
      }
    }
    export const r = R`,
    ["Property 'roomname' does not exist", "Did you mean 'room_name'?"],
  ],
  'a groupSend whose payload lacks a field its handler needs': [
    `class S extends AsyncWebsocketConsumer<{ events: { 'chat.message': ChatLine } }> {
      override async receive(textData?: string) {
        await this.channelLayer.groupSend('g', { type: 'chat.message', message: textData ?? '' }) // error
      }
      async chat_message(event: ChatLine) { await this.send({ textData: event.message }) }
    }
    export const s = S`,
    ["Property 'user' is missing", "required in type 'Fields<ChatLine>'"],
  ],
  'a groupSend of a type the consumer does not handle': [
    `class S extends AsyncWebsocketConsumer<{ events: { 'chat.message': ChatLine } }> {
      override async receive() {
        await this.channelLayer.groupSend('g', { type: 'chat.mesage', message: '', user: null }) // error
      }
      async chat_message(event: ChatLine) { await this.send({ textData: event.message }) }
    }
    export const s = S`,
    ['Type \'"chat.mesage"\' is not assignable to type \'"chat.message"\''],
  ],
  'a handler named for no declared type': [
    `class H extends AsyncWebsocketConsumer<{ events: { 'chat.message': ChatLine } }> {
      async chat_message(event: ChatLine) { await this.send({ textData: event.message }) }
      async chat_mesage(event: ChatLine) { await this.send({ textData: event.message }) }
    }
    export const app = H.asAsgi() // error`,
    ['\'handler named for no declared message type\': "chat_mesage"'],
  ],
  'a declared type without a handler': [
    `class H extends AsyncConsumer<{ events: { 'chat.message': ChatLine } }> {}
    export const app = H.asAsgi() // error`,
    ['\'declared message type without a handler\': "chat.message"'],
  ],
  'a handler whose parameter needs more than its message carries': [
    `class H extends AsyncConsumer<{ events: { 'chat.message': ChatLine } }> {
      chat_message(event: ChatLine & { room: string }) { return event.room }
    }
    export const app = H.asAsgi() // error`,
    ['\'handler parameter does not accept its message type\': "chat.message"'],
  ],
  'a sendJson of something other than Out': [
    `class J extends AsyncJsonWebsocketConsumer<unknown, { said: string }> {
      override async receiveJson() { await this.sendJson({ text: 'x' }) } // error
    }
    export const j = J`,
    ["'text' does not exist in type '{ said: string; }'"],
  ],
}

/** The snippets that must compile: the same consumers written correctly. */
const CLEAN = `
new URLRouter([
  path('ws/chat/<str:room_name>/', ChatConsumer.asAsgi()),
  rePath('^ws/chat/(?<room_name>\\\\w+)/$', ChatConsumer.asAsgi()),
  rePath(String.raw\`^ws/chat/(?<room_name>\\w+)/$\`, ChatConsumer.asAsgi()),
  path('items/<int:id>/', ItemConsumer.asAsgi()),
])
`

function fileName(index: number): string {
  return join(DIR, `snippet-${index}.ts`)
}

let diagnostics: Map<string, readonly ts.Diagnostic[]>

beforeAll(() => {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))
      },
    },
  )
  if (config === undefined) throw new Error('tsconfig.json did not parse')
  const sources = new Map<string, string>()
  sources.set(fileName(0), PRELUDE + CLEAN)
  Object.values(SNIPPETS).forEach(([snippet], index) => {
    sources.set(fileName(index + 1), PRELUDE + snippet)
  })
  const host = ts.createCompilerHost(config.options)
  const fileExists = host.fileExists.bind(host)
  const readFile = host.readFile.bind(host)
  host.fileExists = (name) => sources.has(name) || fileExists(name)
  host.readFile = (name) => sources.get(name) ?? readFile(name)
  const program = ts.createProgram([...sources.keys()], { ...config.options, noEmit: true }, host)
  diagnostics = new Map(
    [...sources.keys()].map((name) => {
      const source = program.getSourceFile(name)
      if (source === undefined) throw new Error(`${name} was not compiled`)
      return [
        name,
        [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)],
      ]
    }),
  )
}, 120_000)

/** A diagnostic as `line: message`, the line counted in the snippet's file. */
function describeDiagnostic(diagnostic: ts.Diagnostic): { line: string; message: string } {
  const { file, start } = diagnostic
  const line =
    file === undefined || start === undefined
      ? ''
      : (file.text.split('\n')[file.getLineAndCharacterOfPosition(start).line] ?? '')
  return { line, message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n') }
}

describe('the typed API', () => {
  it('compiles the consumers and routes written correctly', () => {
    expect(diagnostics.get(fileName(0))?.map(describeDiagnostic)).toEqual([])
  })

  it.each(Object.entries(SNIPPETS).map(([name, [, texts]], index) => [name, texts, index + 1]))(
    'reports %s',
    (_name, texts, index) => {
      const found = (diagnostics.get(fileName(index)) ?? []).map(describeDiagnostic)
      expect(found).toHaveLength(1)
      const [{ line, message }] = found as [{ line: string; message: string }]
      expect(line).toContain('// error')
      for (const text of texts) expect(message).toContain(text)
    },
  )
})
