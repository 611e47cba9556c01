/**
 * Development static files: the ASGI wrapper runserver puts around the project's application.
 * @module
 */
export { StaticFilesHandler, type StaticFilesOptions } from './handler.js'
export { staticRoots } from './roots.js'
export { contentTypeFor } from './content-types.js'
export { staticRelativePath, type StaticPathResult } from './safe-path.js'
