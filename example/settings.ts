/**
 * Settings for mysite, with Django's key names. `channels runserver` finds this file
 * in the current folder (or use --settings / CHANNELS_SETTINGS_MODULE); paths are relative to it.
 */
import { databaseFromUrl, defineSettings } from 'channels-ts'

const {
  REDIS_URL,
  CHANNEL_LAYER_BACKEND = 'core',
  DJANGO_DATABASE_URL,
  DJANGO_SECRET_KEY,
} = process.env
const REDIS_BACKENDS: Record<string, string> = {
  core: 'channels_redis.core.RedisChannelLayer',
  pubsub: 'channels_redis.pubsub.RedisPubSubChannelLayer',
}

export default defineSettings({
  // Keep the key used in production secret! Next to a Django site, it is the Django project's.
  SECRET_KEY:
    DJANGO_SECRET_KEY ?? 'channels-insecure--bqh)i!vdjy^^by2^#!-)dk$ouckuk8w%7&xc@g#+w0tp@n#(#',

  // Never run with DEBUG on in production. With DEBUG and an empty ALLOWED_HOSTS, localhost,
  // 127.0.0.1 and [::1] are allowed.
  DEBUG: true,
  ALLOWED_HOSTS: [],

  // 'module.path.export', resolved to mysite/routing.ts, export `application`.
  ASGI_APPLICATION: 'mysite.routing.application',

  // The in-memory layer works within one process. Several processes, or Django next to this
  // server, share groups through Redis (README: "Channel layers"). Setting REDIS_URL selects
  // channels_redis's core layer here (CHANNEL_LAYER_BACKEND=pubsub for its pub/sub layer);
  // written out, it reads:
  //   default: {
  //     BACKEND: 'channels_redis.core.RedisChannelLayer',
  //     CONFIG: { hosts: ['redis://127.0.0.1:6379'] },
  //   },
  CHANNEL_LAYERS: {
    default: REDIS_URL
      ? {
          BACKEND: REDIS_BACKENDS[CHANNEL_LAYER_BACKEND] ?? CHANNEL_LAYER_BACKEND,
          CONFIG: { hosts: [REDIS_URL] },
        }
      : { BACKEND: 'channels.layers.InMemoryChannelLayer' },
  },

  // Next to a Django site (README: "Next to a Django site"): with DJANGO_DATABASE_URL naming the
  // Django project's database (sqlite:////path/to/db.sqlite3 or postgres://user:pw@host/name) and
  // DJANGO_SECRET_KEY its SECRET_KEY, sessions are Django's own (its django_session table) and
  // someone logged in on the Django site is scope.user here: the chat greets them by name.
  ...(DJANGO_DATABASE_URL === undefined
    ? {}
    : {
        SESSION_ENGINE: 'django.contrib.sessions.backends.db',
        DATABASES: { default: databaseFromUrl(DJANGO_DATABASE_URL) },
      }),

  // runserver serves these under STATIC_URL while DEBUG is on.
  STATIC_URL: '/static/',
  STATICFILES_DIRS: ['static'],
})
