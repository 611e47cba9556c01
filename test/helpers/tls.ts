/**
 * Throwaway TLS material for `ssl:` endpoint tests: a fresh self-signed key and certificate for
 * `localhost` / 127.0.0.1 / ::1, made with the `openssl` CLI in a temp dir.
 * @module
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A key+cert pair on disk; `cleanup()` removes the directory (safe to call twice). */
export interface SelfSignedCert {
  dir: string
  keyPath: string
  certPath: string
  cleanup(): Promise<void>
}

/**
 * Create an unencrypted RSA-2048 key and a 2-day self-signed certificate whose subjectAltName
 * covers DNS:localhost, IP:127.0.0.1 and IP:::1. Use it as the client's `ca` to verify.
 */
export async function makeSelfSignedCert(): Promise<SelfSignedCert> {
  const dir = await mkdtemp(join(tmpdir(), 'channels-tls-'))
  const keyPath = join(dir, 'key.pem')
  const certPath = join(dir, 'cert.pem')
  const cleanup = () => rm(dir, { recursive: true, force: true })
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-days',
      '2',
    ])
  } catch (error) {
    await cleanup()
    throw new Error(`openssl could not make a self-signed certificate: ${String(error)}`, {
      cause: error,
    })
  }
  return { dir, keyPath, certPath, cleanup }
}
