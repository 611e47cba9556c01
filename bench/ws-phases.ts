/**
 * One benchmark run against one server: echo, group fan-out and idle connections, each phase
 * measured as the server's own CPU time (and memory) between the load generator's `STARTED`
 * marker and its result.
 */
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { collectResult, cpuMicros, rssKb, spawnPinned, waitForHttp } from './proc.js'

const LOADGEN = fileURLToPath(new URL('./loadgen.js', import.meta.url))

/**
 * Run the load generator (on core 1 when `pinned`) with `args`; `onLine` sees each output line
 * as it comes. Resolves with its `RESULT` fields.
 */
export function runLoadgen(
  pinned: boolean,
  args: string[],
  onLine: (line: string) => void = () => undefined,
): Promise<Record<string, string>> {
  const child = spawnPinned(pinned ? 1 : null, [process.execPath, LOADGEN, ...args], {
    cwd: process.cwd(),
  })
  return collectResult(child, onLine)
}

/** How hard each phase pushes; `--quick` shrinks everything to a smoke run. */
export interface Workload {
  echoConns: number
  echoMs: number
  fanoutMembers: number
  fanoutMessages: number
  fanoutEveryMs: number
  idleConns: number
  holdMs: number
}

export const FULL_WORKLOAD: Workload = {
  echoConns: 50,
  echoMs: 5000,
  fanoutMembers: 1000,
  fanoutMessages: 100,
  fanoutEveryMs: 5,
  idleConns: 10_000,
  holdMs: 3000,
}

export const QUICK_WORKLOAD: Workload = {
  echoConns: 4,
  echoMs: 300,
  fanoutMembers: 20,
  fanoutMessages: 5,
  fanoutEveryMs: 5,
  idleConns: 50,
  holdMs: 300,
}

/** A server under test: how to start it and where it listens. */
export interface ServerSpec {
  name: string
  cwd: string
  command: (port: number) => string[]
  /** Added to the environment the server starts with. */
  env?: Record<string, string>
}

/** The figures of one run against one server. */
export interface RunFigures {
  cpuUsPerEcho: number
  cpuUsPerDelivery: number
  /**
   * The same with the members' connects and group joins counted in (what a load generator
   * that times the whole fan-out phase measures).
   */
  cpuUsPerDeliveryWithJoins: number
  deliveriesLost: number
  /** Server CPU per handshake over the whole 10k wave, JIT warm-up of the handshake path included. */
  cpuUsPerHandshake: number
  /**
   * The same over the second half of the wave (from the load generator's `HALF` marker to
   * `OPENED`): the steady-state cost, once the handshake path is compiled, with 5k–10k live
   * connections for the GC to carry.
   */
  cpuUsPerHandshakeSteady: number
  kbPerIdleConnection: number
  echoRate: number
  idleOpened: number
}

async function phase(
  pid: number,
  pinned: boolean,
  args: string[],
  onOpened?: () => void,
): Promise<{
  fields: Record<string, string>
  cpu: number
  /** Server CPU from the load generator's start to its end: `cpu` plus its set-up (connects). */
  cpuWithSetup: number
  atOpened: number
  atHalf: number
  half: number
}> {
  const spawned = cpuMicros(pid)
  let start = Number.NaN
  let atOpened = Number.NaN
  let atHalf = Number.NaN
  let half = Number.NaN
  const fields = await runLoadgen(pinned, args, (line) => {
    if (line === 'STARTED') start = cpuMicros(pid)
    if (line.startsWith('HALF ')) {
      atHalf = cpuMicros(pid)
      half = Number(line.slice(5))
    }
    if (line.startsWith('OPENED')) {
      atOpened = cpuMicros(pid)
      onOpened?.()
    }
  })
  const end = cpuMicros(pid)
  return {
    fields,
    cpu: end - start,
    cpuWithSetup: end - spawned,
    atOpened: atOpened - start,
    atHalf: atHalf - start,
    half,
  }
}

/** Start `spec` pinned to core 0, run the three phases from core 1, stop it, return the figures. */
export async function runServer(
  spec: ServerSpec,
  port: number,
  workload: Workload,
  pinned: boolean,
): Promise<RunFigures> {
  const server = spawnPinned(pinned ? 0 : null, spec.command(port), {
    cwd: spec.cwd,
    env: spec.env === undefined ? undefined : { ...process.env, ...spec.env },
  })
  let output = ''
  server.stdout?.on('data', (c: Buffer) => (output += c.toString()))
  server.stderr?.on('data', (c: Buffer) => (output += c.toString()))
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`, 20_000).catch((error: unknown) => {
      throw new Error(`${spec.name}: ${(error as Error).message}\n${output.slice(-2000)}`)
    })
    const pid = server.pid!
    const ws = `ws://127.0.0.1:${port}`
    // The example project validates Origin against ALLOWED_HOSTS, as the Channels tutorial does.
    const origin = ['--origin', `http://127.0.0.1:${port}`]

    const echo = await phase(pid, pinned, [
      ...origin,
      'echo',
      '--url',
      `${ws}/ws/echo/`,
      '-c',
      String(workload.echoConns),
      '-d',
      String(workload.echoMs),
    ])
    const echoes = Number(echo.fields.msgs)

    const fan = await phase(pid, pinned, [
      ...origin,
      'fanout',
      '--url',
      `${ws}/ws/chat/bench/`,
      '-c',
      String(workload.fanoutMembers),
      '-m',
      String(workload.fanoutMessages),
      '--every',
      String(workload.fanoutEveryMs),
    ])
    const received = Number(fan.fields.received)
    const deliveries = received + Number(fan.fields.sender_received)

    // Let the fan-out sockets close before the idle baseline is read.
    await new Promise((r) => setTimeout(r, 500))
    const baseRss = rssKb(pid)
    let heldRss = Number.NaN
    const idle = await phase(
      pid,
      pinned,
      [
        ...origin,
        'conn',
        '--url',
        `${ws}/ws/echo/`,
        '-n',
        String(workload.idleConns),
        '-k',
        '64',
        '--hold',
        String(workload.holdMs),
      ],
      () => setTimeout(() => (heldRss = rssKb(pid)), Math.min(1000, workload.holdMs / 2)),
    )
    const opened = Number(idle.fields.opened)

    return {
      cpuUsPerEcho: echo.cpu / echoes,
      cpuUsPerDelivery: fan.cpu / deliveries,
      cpuUsPerDeliveryWithJoins: fan.cpuWithSetup / deliveries,
      deliveriesLost: Number(fan.fields.expected) - received,
      cpuUsPerHandshake: idle.atOpened / opened,
      cpuUsPerHandshakeSteady: (idle.atOpened - idle.atHalf) / (opened - idle.half),
      kbPerIdleConnection: (heldRss - baseRss) / opened,
      echoRate: Number(echo.fields.rate),
      idleOpened: opened,
    }
  } finally {
    await stop(server)
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
