/**
 * WebSocket routes of the {{ app_name }} app. Add them to the project's router, e.g.
 * `new URLRouter([...chatRoutes, ...{{ app_camel }}WebsocketUrlpatterns])`.
 */
import { path } from 'channels-ts'
import { {{ app_class }}Consumer } from './consumers.js'

export const {{ app_camel }}WebsocketUrlpatterns = [path('ws/{{ app_name }}/', {{ app_class }}Consumer.asAsgi())]
