/**
 * The `channels` command: `runserver`, `serve`, `runworker`, `startproject`, `startapp`. `main`
 * parses argv with commander, lazy-imports the command module, and is the only place that turns
 * an error into red text and an exit code.
 * @module
 */
import { availableParallelism } from 'node:os'
import { Command, CommanderError, Option } from 'commander'
import { CommandError } from './errors.js'
import { createContext, type CliContext, type CliDeps } from './io.js'
import { compileLogFormat, DAPHNE_LOG_FORMAT } from './log-handler.js'
import { frameworkVersion } from './package-info.js'

export type { CliDeps, CreateServer, CliServer, CliServerStarted } from './io.js'
export { CommandError } from './errors.js'

/** argparse's exit code for a usage error (Daphne and Django both use argparse). */
const USAGE_ERROR = 2

/** Run the CLI with `argv` (without node and script); resolves to the process exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const ctx = createContext(deps)
  let exitCode = 0
  const program = buildProgram(ctx, (code) => {
    exitCode = code
  })
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return exitCode
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end parsing with a "success" CommanderError.
      return error.exitCode === 0 ? 0 : USAGE_ERROR
    }
    if (error instanceof CommandError) {
      ctx.stderr(`${ctx.paint.red(error.message)}\n`)
      return error.exitCode
    }
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
    ctx.stderr(`${ctx.paint.red(text)}\n`)
    return 1
  }
}

function buildProgram(ctx: CliContext, setExitCode: (code: number) => void): Command {
  const program = new Command('channels')
    .description(
      'Django Channels for TypeScript: development and production servers, project scaffolding.',
    )
    .version(frameworkVersion(), '-V, --version', 'output the version number')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.stdout(text),
      writeErr: (text) => ctx.stderr(text),
      outputError: (text, write) => write(ctx.paint.red(text)),
    })
    .showHelpAfterError('(add --help for additional information)')

  const seconds = (name: string) => (value: string) => parseInteger(name, value)
  const reactorOption = () =>
    new Option('--reactor <name>', 'event loop: uWebSockets.js, node:http + ws, or auto')
      .choices(['auto', 'uws', 'node'])
      .default('auto')

  program
    .command('runserver')
    .description('Start a development server with hot reload, static files and a request log.')
    .argument('[addrport]', 'optional port number, or ipaddr:port (default 127.0.0.1:8000)')
    .option('-6, --ipv6', 'use an IPv6 address')
    .option('--noreload', 'do not reload the application when files change')
    .option('--nothreading', "accepted for Django's scripts; one event loop serves everything")
    .option('--skip-checks', 'do not run the system checks')
    .option('--nostatic', 'do not serve static files at STATIC_URL')
    .option('--insecure', 'serve static files even when DEBUG is false')
    .option('--no-dashboard', 'do not serve the dashboard at /_channels/ (served when DEBUG is on)')
    .option(
      '--http_timeout <seconds>',
      'HTTP request timeout in seconds (default: none)',
      seconds('--http_timeout'),
    )
    .option(
      '--websocket_handshake_timeout <seconds>',
      'WebSocket handshake timeout in seconds',
      seconds('--websocket_handshake_timeout'),
      5,
    )
    .addOption(reactorOption())
    .option(
      '--settings <path>',
      'the settings module (default: $CHANNELS_SETTINGS_MODULE, then ./settings.ts)',
    )
    .action(async (addrport: string | undefined, options: Record<string, unknown>) => {
      const { runserver } = await import('./runserver.js')
      setExitCode(await runserver(addrport, options, ctx))
    })

  program
    .command('serve')
    .description("Run the production server (Daphne's command line).")
    .argument(
      '[application]',
      'the ASGI application as path/to/module.ts:export (default: ASGI_APPLICATION)',
    )
    .option('-p, --port <port>', 'port number to listen on', (v) => parseInteger('--port', v))
    .option('-b, --bind <address>', 'the host/address to bind to')
    .option('-u, --unix-socket <path>', 'bind to a UNIX socket rather than a TCP host/port')
    .option(
      '--fd <fd>',
      'bind to a file descriptor rather than a TCP host/port or named sock',
      (v) => parseInteger('--fd', v),
    )
    .option(
      '-e, --endpoint <description>',
      'use raw server strings passed directly (repeatable)',
      collect,
      [],
    )
    .option(
      '--websocket_timeout <seconds>',
      'maximum time to allow a websocket to be connected; -1 for infinite',
      (v) => parseInteger('--websocket_timeout', v),
      86400,
    )
    .option(
      '--websocket_connect_timeout <seconds>',
      'maximum time to allow a connection to handshake',
      (v) => parseInteger('--websocket_connect_timeout', v),
      5,
    )
    .option(
      '-v, --verbosity <level>',
      'how verbose to make the output',
      (v) => parseInteger('--verbosity', v),
      1,
    )
    .option(
      '-t, --http-timeout <seconds>',
      'how long to wait for a worker before timing out HTTP connections',
      (v) => parseInteger('--http-timeout', v),
    )
    .option(
      '--access-log <path>',
      'where to write the access log (- for stdout, the default for verbosity 1)',
    )
    .option(
      '--log-fmt <format>',
      'the log format, Python logging style: %(asctime)s %(levelname)s %(name)s %(message)s',
      (v) => validLogFormat(v),
      DAPHNE_LOG_FORMAT,
    )
    .option(
      '--ping-interval <seconds>',
      'seconds a WebSocket must be idle before a keepalive ping is sent',
      (v) => parseInteger('--ping-interval', v),
      20,
    )
    .option(
      '--ping-timeout <seconds>',
      'seconds before a WebSocket is closed if no response to a keepalive ping',
      (v) => parseInteger('--ping-timeout', v),
      30,
    )
    .option(
      '--application-close-timeout <seconds>',
      'seconds before an ASGI application instance is killed',
      (v) => parseInteger('--application-close-timeout', v),
      10,
    )
    .option(
      '--websocket-max-message-size <bytes>',
      'largest incoming WebSocket message; 0 = unlimited',
      (v) => parseInteger('--websocket-max-message-size', v),
      1048576,
    )
    .option(
      '--websocket-max-buffered-bytes <bytes>',
      'bytes queued for one slow WebSocket client before it is closed (1008); 0 = unlimited',
      (v) => parseInteger('--websocket-max-buffered-bytes', v),
      8388608,
    )
    .option(
      '--websocket-buffer-budget <bytes>',
      'bytes queued for all WebSocket clients before the biggest is closed (1008); 0 = unlimited',
      (v) => parseInteger('--websocket-buffer-budget', v),
      268435456,
    )
    .option(
      '--websocket-close-timeout <seconds>',
      'seconds a closing WebSocket may go without its client reading before it is cut off',
      seconds('--websocket-close-timeout'),
      5,
    )
    .option(
      '--headers-timeout <seconds>',
      'seconds a client has to send a request head, else 408 (node reactor); 0 = never',
      seconds('--headers-timeout'),
      10,
    )
    .option(
      '--request-timeout <seconds>',
      'seconds a client has to send a whole request, body included (node reactor); 0 = never',
      seconds('--request-timeout'),
      60,
    )
    .option(
      '--keep-alive-timeout <seconds>',
      'seconds an idle keep-alive connection stays open (node reactor)',
      seconds('--keep-alive-timeout'),
      5,
    )
    .option(
      '--max-connections <count>',
      'most open connections per listener, more are closed (node reactor); 0 = no limit',
      (v) => parseInteger('--max-connections', v),
      0,
    )
    .option('--root-path <path>', 'the setting for the ASGI root_path variable', '')
    .option(
      '--proxy-headers',
      'use X-Forwarded-For/X-Forwarded-Port for the client address when behind a proxy',
    )
    .option(
      '--proxy-headers-host <header>',
      'header to read the client address from (requires --proxy-headers)',
    )
    .option(
      '--proxy-headers-port <header>',
      'header to read the client port from (requires --proxy-headers)',
    )
    .option('-s, --server-name <name>', 'the Server response header; "" disables it')
    .option('--no-server-name', 'send no Server response header')
    .addOption(reactorOption())
    .option(
      '--dashboard',
      `serve the dashboard at /_channels/, to requests with the token from $CHANNELS_DASHBOARD_TOKEN or the DASHBOARD_TOKEN setting`,
    )
    .option(
      '--workers <count>',
      'worker processes sharing the port, or auto (one per core); > 1 needs a Redis channel layer',
      parseWorkers,
      1,
    )
    .option(
      '--settings <path>',
      'the settings module (default: $CHANNELS_SETTINGS_MODULE, then ./settings.ts)',
    )
    .action(async (application: string | undefined, options: Record<string, unknown>) => {
      const { serve } = await import('./serve.js')
      setExitCode(await serve(application, options, ctx))
    })

  program
    .command('startproject')
    .description('Create a project folder from the template.')
    .argument('<name>', 'the project name (a valid identifier)')
    .argument('[directory]', 'where to create it (default: ./<name>)')
    .option('--force', 'write into a non-empty directory')
    .option('--link <path>', 'depend on the framework at this folder (default: this installation)')
    .option(
      '--channels-version <range>',
      'depend on channels-ts from the registry at this version range',
    )
    .action(
      async (name: string, directory: string | undefined, options: Record<string, unknown>) => {
        const { startproject } = await import('./startproject.js')
        setExitCode(await startproject(name, directory, options, ctx))
      },
    )

  program
    .command('startapp')
    .description('Add an app folder (consumers.ts and routing.ts) to the project.')
    .argument('<name>', 'the app name (a valid identifier)')
    .argument('[directory]', 'where to create it (default: ./<name>)')
    .action(async (name: string, directory: string | undefined) => {
      const { startapp } = await import('./startapp.js')
      setExitCode(await startapp(name, directory, ctx))
    })

  program
    .command('runworker')
    .description(
      "Run a worker for the application's 'channel' scopes: messages sent to the named " +
        'channels of a channel layer (Redis).',
    )
    .argument('<channels...>', 'channels to listen on')
    .option('--layer <alias>', 'channel layer alias to use', 'default')
    .option(
      '-v, --verbosity <level>',
      'how verbose to make the output',
      (v) => parseInteger('--verbosity', v),
      1,
    )
    .option(
      '--application-close-timeout <seconds>',
      'seconds the messages being handled get to finish after SIGINT/SIGTERM',
      (v) => parseInteger('--application-close-timeout', v),
      10,
    )
    .option(
      '--settings <path>',
      'the settings module (default: $CHANNELS_SETTINGS_MODULE, then ./settings.ts)',
    )
    .action(async (channels: string[], options: Record<string, unknown>) => {
      const { runworker } = await import('./runworker.js')
      setExitCode(await runworker(channels, options, ctx))
    })

  return program
}

/** A `--log-fmt` the log handler can use; refused at parse time (exit 2) otherwise. */
function validLogFormat(value: string): string {
  compileLogFormat(value)
  return value
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

/** `--workers`: a whole number ≥ 1, or `auto` for one worker per core. */
function parseWorkers(value: string): number {
  if (value.trim() === 'auto') return availableParallelism()
  if (/^\+?\d+$/.test(value.trim()) && Number(value) >= 1) return Number(value)
  throw new CommandError(
    `argument --workers: invalid value: '${value}' (a whole number ≥ 1, or auto)`,
    { exitCode: USAGE_ERROR },
  )
}

/** Integers only, like argparse's `type=int` (which refuses `1.5` and `12abc`). */
function parseInteger(name: string, value: string): number {
  if (!/^[-+]?\d+$/.test(value.trim())) {
    throw new CommandError(`argument ${name}: invalid int value: '${value}'`, {
      exitCode: USAGE_ERROR,
    })
  }
  return Number(value)
}
