/**
 * Typed route parameters: what `path()`/`rePath()` read from a route's literal text, and the
 * check of a route against the kwargs its consumer declares. Most of this file is type-level:
 * `npm run typecheck` (tsc over test/) fails when an `expectTypeOf` does not hold or a
 * `// @ts-expect-error` line compiles. The runtime tests show the types say what routing does.
 * test/framework/typed-api.test.ts checks the wording of the errors.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  AsyncHttpConsumer,
  AsyncWebsocketConsumer,
  path,
  registerConverter,
  rePath,
  URLRouter,
  type PathKwargs,
  type RePathKwargs,
  type ConsumerApplication,
  type RouteKwargsCheck,
} from '../../../src/index.js'
import { HttpCommunicator, WebsocketCommunicator } from '../../../src/framework/testing/index.js'
import { mockApplication } from './helpers.js'

describe('PathKwargs', () => {
  it("types each <converter:name> by Django's converters; <name> is a str", () => {
    expectTypeOf<PathKwargs<'ws/chat/<str:room_name>/'>>().toEqualTypeOf<{ room_name: string }>()
    expectTypeOf<PathKwargs<'items/<int:id>/<slug:s>/<uuid:u>/<path:rest>'>>().toEqualTypeOf<{
      id: number
      s: string
      u: string
      rest: string
    }>()
    expectTypeOf<PathKwargs<'chat/<room>/'>>().toEqualTypeOf<{ room: string }>()
  })

  it('gives no kwargs for a route without parameters', () => {
    // A route without parameters captures the empty object type: that is the point here.
    /* eslint-disable @typescript-eslint/no-generated-empty-object-type */
    expectTypeOf<keyof PathKwargs<'ws/echo/'>>().toBeNever()
    expectTypeOf<keyof PathKwargs<''>>().toBeNever()
    /* eslint-enable @typescript-eslint/no-generated-empty-object-type */
  })

  it('types a converter it does not know as unknown, and a route typed string as untyped', () => {
    expectTypeOf<PathKwargs<'archive/<year:y>/'>>().toEqualTypeOf<{ y: unknown }>()
    expectTypeOf<PathKwargs<string>>().toEqualTypeOf<Record<string, unknown>>()
  })
})

describe('RePathKwargs', () => {
  it("types JavaScript's (?<name>…) and Python's (?P<name>…) groups as strings", () => {
    expectTypeOf<RePathKwargs<'^ws/chat/(?<room_name>\\w+)/(?P<page>\\d+)/$'>>().toEqualTypeOf<{
      room_name: string
      page: string
    }>()
  })

  it('skips lookbehinds, lookaheads, non-capturing and positional groups', () => {
    expectTypeOf<RePathKwargs<'^(?<=a)(?<!b)(?:x)(?=y)(?!z)(\\d+)/(?<id>\\d+)$'>>().toEqualTypeOf<{
      id: string
    }>()
    // eslint-disable-next-line @typescript-eslint/no-generated-empty-object-type -- no named group
    expectTypeOf<keyof RePathKwargs<'^ws/(\\d+)/$'>>().toBeNever()
  })

  it('leaves a regex typed string (String.raw`…`, a variable) untyped', () => {
    const raw = String.raw`^ws/chat/(?<room_name>\w+)/$`
    expectTypeOf(raw).toEqualTypeOf<string>()
    expectTypeOf<RePathKwargs<typeof raw>>().toEqualTypeOf<Record<string, unknown>>()
  })
})

class RoomConsumer extends AsyncWebsocketConsumer<{ kwargs: { room_name: string } }> {
  override async connect(): Promise<void> {
    expectTypeOf(this.scope.url_route.kwargs.room_name).toEqualTypeOf<string>()
    // @ts-expect-error a misspelled kwarg read is an error in the consumer too
    expectTypeOf(this.scope.url_route.kwargs.roomname).toBeUnknown()
    await this.accept()
    await this.send({ textData: this.scope.url_route.kwargs.room_name })
  }
}

class ItemConsumer extends AsyncHttpConsumer<{ kwargs: { id: number; page?: string } }> {
  override async handle(): Promise<void> {
    const { id, page } = this.scope.url_route.kwargs
    expectTypeOf(id).toEqualTypeOf<number>()
    expectTypeOf(page).toEqualTypeOf<string | undefined>()
    await this.sendResponse(200, JSON.stringify({ id, page: page ?? null }))
  }
}

/** No declared kwargs: any route leads to it, as before typed routes. */
class Untyped extends AsyncWebsocketConsumer {
  override async connect(): Promise<void> {
    expectTypeOf(this.scope.url_route).toEqualTypeOf<
      { args: unknown[]; kwargs: Record<string, unknown> } | undefined
    >()
    await this.accept()
  }
}

describe('path() and rePath() check the route against the consumer', () => {
  it('accept a route that captures what the consumer declares', () => {
    new URLRouter([
      path('ws/chat/<str:room_name>/', RoomConsumer.asAsgi()),
      path('ws/chat/<room_name>/', RoomConsumer.asAsgi()),
      rePath('^ws/chat/(?<room_name>\\w{1,94})/$', RoomConsumer.asAsgi()),
      rePath('^ws/chat/(?P<room_name>\\w+)/$', RoomConsumer.asAsgi()),
      // Default kwargs count as captured.
      path('ws/lobby/', RoomConsumer.asAsgi(), { kwargs: { room_name: 'lobby' } }),
      path('items/<int:id>/', ItemConsumer.asAsgi()),
      path('items/<int:id>/<str:page>/', ItemConsumer.asAsgi()),
    ])
  })

  it('reject a misspelled kwarg, in path() and in rePath()', () => {
    new URLRouter([
      // @ts-expect-error the route captures roomname; RoomConsumer declares room_name
      path('ws/chat/<str:roomname>/', RoomConsumer.asAsgi()),
      // @ts-expect-error the same in a regex
      rePath('^ws/chat/(?<roomname>\\w+)/$', RoomConsumer.asAsgi()),
    ])
  })

  it('reject a route that captures a kwarg the consumer does not declare', () => {
    new URLRouter([
      // @ts-expect-error page is not declared by RoomConsumer
      path('ws/chat/<str:room_name>/<int:page>/', RoomConsumer.asAsgi()),
      // @ts-expect-error a default kwarg is captured too
      path('ws/chat/<str:room_name>/', RoomConsumer.asAsgi(), { kwargs: { page: 1 } }),
    ])
  })

  it('reject a route that does not capture a required kwarg (an optional one may be left out)', () => {
    new URLRouter([
      // @ts-expect-error room_name is required
      path('ws/chat/', RoomConsumer.asAsgi()),
      path('items/<int:id>/', ItemConsumer.asAsgi()),
    ])
  })

  it('reject a kwarg of another type: <str:id> for an id: number', () => {
    new URLRouter([
      // @ts-expect-error str gives a string
      path('items/<str:id>/', ItemConsumer.asAsgi()),
      // @ts-expect-error a regex group is a string
      rePath('^items/(?<id>\\d+)/$', ItemConsumer.asAsgi()),
      // @ts-expect-error a default kwarg of the wrong type
      path('items/', ItemConsumer.asAsgi(), { kwargs: { id: 'one' } }),
    ])
  })

  it('trust the consumer where the route carries no text: String.raw, RegExp, string variables', () => {
    const route: string = 'ws/chat/<str:roomname>/'
    new URLRouter([
      rePath(String.raw`^ws/chat/(?<roomname>\w+)/$`, RoomConsumer.asAsgi()),
      rePath(/^ws\/chat\/(?<roomname>\w+)\/$/, RoomConsumer.asAsgi()),
      path(route, RoomConsumer.asAsgi()),
    ])
  })

  it("trust a converter the types do not know (PathConverterTypes names a converter's type)", () => {
    type App = ConsumerApplication<ItemConsumer>
    expectTypeOf<RouteKwargsCheck<App, PathKwargs<'<year:id>/'>>>().toEqualTypeOf<unknown>()
    expectTypeOf<RouteKwargsCheck<App, PathKwargs<'<int:id>/'>>>().toEqualTypeOf<unknown>()
  })

  it('check a route through a converter the types are told about (PathConverterTypes)', () => {
    registerConverter({ regex: '\\w{1,94}', toPython: (value) => value }, 'room')
    expectTypeOf<PathKwargs<'ws/chat/<room:room_name>/'>>().toEqualTypeOf<{ room_name: string }>()
    new URLRouter([
      path('ws/chat/<room:room_name>/', RoomConsumer.asAsgi()),
      // @ts-expect-error a misspelled kwarg in the converter route is caught
      path('ws/chat/<room:roomname>/', RoomConsumer.asAsgi()),
    ])
  })

  it('accept any route to a consumer that declares no kwargs, or to another application', () => {
    new URLRouter([
      path('ws/<str:anything>/<int:n>/', Untyped.asAsgi()),
      rePath('^ws/(?<x>\\w+)/$', Untyped.asAsgi()),
      path('x/<int:n>/', mockApplication(1)),
      path('nested/<str:room_name>/', new URLRouter([path('', Untyped.asAsgi())])),
    ])
  })

  it('check a nested route on its own: the outer kwargs are declared optional', () => {
    class NestedRoom extends AsyncWebsocketConsumer<{
      kwargs: { room_name?: string; n: number }
    }> {}
    class Strict extends AsyncWebsocketConsumer<{ kwargs: { room_name: string; n: number } }> {}
    new URLRouter([
      path('nested/<str:room_name>/', new URLRouter([path('<int:n>/', NestedRoom.asAsgi())])),
      path(
        'nested/<str:room_name>/',
        // @ts-expect-error the inner route cannot show the outer route's room_name
        new URLRouter([path('<int:n>/', Strict.asAsgi())]),
      ),
    ])
  })
})

describe('what the types say is what routing does', () => {
  it('path() puts a str capture as a string and an int capture as a number', async () => {
    const app = new URLRouter([
      path('items/<int:id>/', ItemConsumer.asAsgi()),
      path('ws/chat/<str:room_name>/', RoomConsumer.asAsgi()),
    ])
    const response = await new HttpCommunicator(app, 'GET', '/items/7/').getResponse()
    expect(JSON.parse(Buffer.from(response.body).toString())).toEqual({ id: 7, page: null })

    const communicator = new WebsocketCommunicator(app, '/ws/chat/lobby/')
    expect((await communicator.connect())[0]).toBe(true)
    expect(await communicator.receiveFrom()).toBe('lobby')
    await communicator.disconnect()
  })

  it('rePath() puts each named group as a string, and default kwargs in place', async () => {
    const app = new URLRouter([
      rePath('^ws/chat/(?<room_name>\\w+)/$', RoomConsumer.asAsgi()),
      path('ws/lobby/', RoomConsumer.asAsgi(), { kwargs: { room_name: 'lobby' } }),
    ])
    for (const [url, room] of [
      ['/ws/chat/kitchen/', 'kitchen'],
      ['/ws/lobby/', 'lobby'],
    ] as const) {
      const communicator = new WebsocketCommunicator(app, url)
      expect((await communicator.connect())[0]).toBe(true)
      expect(await communicator.receiveFrom()).toBe(room)
      await communicator.disconnect()
    }
  })
})

// What the converter test above tells the types: a `room` converter gives a string.
declare module '../../../src/framework/routing/route-params.js' {
  interface PathConverterTypes {
    /** 1 to 94 word characters: a room name that fits a group name. */
    room: string
  }
}
