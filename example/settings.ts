/**
 * Settings for mysite, with Django's key names. `channels runserver` finds this file
 * in the current folder (or use --settings / CHANNELS_SETTINGS_MODULE); paths are relative to it.
 */
import { defineSettings } from 'channels-ts'

export default defineSettings({
  // Keep the key used in production secret!
  SECRET_KEY: 'channels-insecure--bqh)i!vdjy^^by2^#!-)dk$ouckuk8w%7&xc@g#+w0tp@n#(#',

  // Never run with DEBUG on in production. With DEBUG and an empty ALLOWED_HOSTS, localhost,
  // 127.0.0.1 and [::1] are allowed.
  DEBUG: true,
  ALLOWED_HOSTS: [],

  // 'module.path.export', resolved to mysite/routing.ts, export `application`.
  ASGI_APPLICATION: 'mysite.routing.application',

  // The in-memory layer works within one process (runserver). Use a Redis layer to scale out.
  CHANNEL_LAYERS: {
    default: { BACKEND: 'channels.layers.InMemoryChannelLayer' },
  },

  // runserver serves these under STATIC_URL while DEBUG is on.
  STATIC_URL: '/static/',
  STATICFILES_DIRS: ['static'],
})
