/**
 * Next to a Django site: Django's database sessions and users, read and written in Django's own
 * tables and formats.
 * @module
 */
export {
  closeDjangoDatabases,
  databaseVendor,
  getDjangoDatabase,
  openDatabase,
} from './database.js'
export { databaseFromUrl } from './database-url.js'
export { DjangoDatabaseError, type DjangoDatabase } from './db-types.js'
export {
  DjangoModelBackend,
  DjangoUser,
  MODEL_BACKEND,
  userTable,
  type DjangoModelBackendOptions,
} from './model-backend.js'
export {
  decodeSessionData,
  encodeSessionData,
  SESSION_DATA_SALT,
  type DecodedSessionData,
  type SessionKeys,
} from './session-data.js'
export { DjangoSessionStore, type DjangoSessionStoreOptions } from './session-store.js'
