/**
 * Middleware: cookies, sessions, authentication, origin validation and signing.
 * @module
 */
export { BaseMiddleware } from './base.js'
export {
  CookieMiddleware,
  setCookie,
  deleteCookie,
  parseCookies,
  type SetCookieOptions,
  type MessageWithHeaders,
} from './cookies.js'
export {
  Signer,
  TimestampSigner,
  BadSignature,
  SignatureExpired,
  JSONSerializer,
  dumps,
  loads,
  constantTimeCompare,
  type Serializer,
  type SignerOptions,
  type DumpsOptions,
} from './signing.js'
export { Session, EXPIRY_KEY } from './sessions/session.js'
export { StoreSession } from './sessions/store-session.js'
export { SignedCookieSession } from './sessions/signed-cookie-session.js'
export { MemorySessionStore } from './sessions/memory-store.js'
export { FileSessionStore, type FileSessionStoreOptions } from './sessions/file-store.js'
export { SqliteSessionStore, type SqliteSessionStoreOptions } from './sessions/sqlite-store.js'
export { randomSessionKey, type SessionStore, type SessionData } from './sessions/store.js'
export { CreateError, UpdateError, SuspiciousOperation } from './sessions/errors.js'
export {
  createSession,
  getSessionStore,
  resolveSessionEngine,
  closeSessionStores,
  type SessionEngine,
  type SessionFactory,
} from './sessions/engine.js'
export {
  SessionMiddleware,
  SessionMiddlewareStack,
  type SessionMiddlewareOptions,
} from './sessions/middleware.js'
export {
  AnonymousUser,
  registerAuthBackend,
  type AuthUser,
  type AuthBackend,
  type AuthBackendEntry,
  type ScopeUser,
} from './auth-user.js'
export {
  AuthMiddleware,
  AuthMiddlewareStack,
  getUser,
  login,
  logout,
  signals,
  userLoggedIn,
  userLoggedOut,
  SESSION_KEY,
  BACKEND_SESSION_KEY,
  HASH_SESSION_KEY,
  type UserSignalPayload,
  type AuthScope,
} from './auth.js'
export { Signal } from './signals.js'
export {
  closeDjangoDatabases,
  databaseFromUrl,
  DjangoDatabaseError,
  DjangoModelBackend,
  DjangoSessionStore,
  DjangoUser,
  MODEL_BACKEND,
  type DjangoModelBackendOptions,
  type DjangoSessionStoreOptions,
} from './django/index.js'
export { TokenAuthMiddleware, type TokenAuthOptions } from './token-auth.js'
export { OriginValidator, AllowedHostsOriginValidator, DEBUG_ALLOWED_HOSTS } from './origin.js'
export {
  AllowedHostsMiddleware,
  DEBUG_HTTP_ALLOWED_HOSTS,
  requestHost,
  splitDomainPort,
  validateHost,
  type AllowedHostsOptions,
} from './allowed-hosts.js'
export { originAllowed, parseOrigin, isSameDomain, type ParsedOrigin } from './origin-match.js'
