/**
 * Run a snippet of Python with Django 3.2 configured (Debian's python3-django), for checking
 * formats against Django itself. The snippet reads `ARGS` (the JSON arguments) and prints JSON.
 */
import { execFile } from 'node:child_process'

export const PYTHON = '/usr/bin/python3'

const PRELUDE = `
import json, sys
from django.conf import settings
ARGS = json.loads(sys.argv[1])
settings.configure(
    SECRET_KEY=ARGS.get('secret_key', 'django-secret'),
    INSTALLED_APPS=['django.contrib.contenttypes', 'django.contrib.auth', 'django.contrib.sessions'],
    DATABASES={},
    USE_TZ=True,
)
import django
django.setup()
`

/** Run `code` under Django; resolves to what it printed, parsed as JSON. */
export function runDjango(code: string, args: Record<string, unknown> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      ['-c', PRELUDE + code, JSON.stringify(args)],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${error.message}\n${stderr}`))
          return
        }
        try {
          resolve(JSON.parse(stdout) as unknown)
        } catch {
          reject(new Error(`not JSON: ${stdout}\n${stderr}`))
        }
      },
    )
  })
}
