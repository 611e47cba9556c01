/**
 * Settings for {{ project_name }}, with Django's key names. `channels runserver` finds this file
 * in the current folder (or use --settings / CHANNELS_SETTINGS_MODULE); paths are relative to it.
 */
import { defineSettings } from 'channels-ts'

export default defineSettings({
  // Keep the key used in production secret!
  SECRET_KEY: '{{ secret_key }}',

  // Never run with DEBUG on in production. With DEBUG and an empty ALLOWED_HOSTS, localhost,
  // 127.0.0.1 and [::1] are allowed.
  DEBUG: true,
  ALLOWED_HOSTS: [],

  // 'module.path.export', resolved to {{ project_name }}/routing.ts, export `application`.
  ASGI_APPLICATION: '{{ project_name }}.routing.application',

  // The in-memory layer works within one process (runserver). Use a Redis layer to scale out.
  CHANNEL_LAYERS: {
    default: { BACKEND: 'channels.layers.InMemoryChannelLayer' },
  },

  // runserver serves these under STATIC_URL while DEBUG is on.
  STATIC_URL: '/static/',
  STATICFILES_DIRS: ['static'],
})
