import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { freePort } from './free-port.js'
import { startRedis } from './redis-server.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('startRedis', () => {
  it('starts a server without persistence that answers commands, and stops it', async () => {
    const redis = await startRedis()
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
    expect(await redis.cli('PING')).toBe('PONG')
    expect(await redis.cli('CONFIG', 'GET', 'save')).toBe('save\n')
    expect(await redis.cli('CONFIG', 'GET', 'appendonly')).toBe('appendonly\nno')
    expect(await redis.cli('SET', 'k', 'v')).toBe('OK')
    expect(await redis.cli('GET', 'k')).toBe('v')
    expect(redis.cpuSeconds()).toBeGreaterThanOrEqual(0)
    const pid = redis.pid()
    expect(alive(pid)).toBe(true)
    await redis.stop()
    expect(alive(pid)).toBe(false)
    await expect(redis.cli('PING')).rejects.toThrow(/Could not connect/)
    await redis.stop()
  })

  it('counts CPU time that grows with work', async () => {
    const redis = await startRedis()
    try {
      const before = redis.cpuSeconds()
      await redis.cli('EVAL', 'for i = 1, 3000000 do redis.call("INCR", "n") end', '0')
      expect(redis.cpuSeconds()).toBeGreaterThan(before)
    } finally {
      await redis.stop()
    }
  })

  it('restarts on the same port with the data gone', async () => {
    const redis = await startRedis()
    try {
      await redis.cli('SET', 'k', 'v')
      const pid = redis.pid()
      await redis.restart()
      expect(redis.pid()).not.toBe(pid)
      expect(alive(pid)).toBe(false)
      expect(await redis.cli('GET', 'k')).toBe('')
      expect(await redis.cli('PING')).toBe('PONG')
    } finally {
      await redis.stop()
    }
  })

  it('stops with SIGKILL like a crash, and restarts after', async () => {
    const redis = await startRedis()
    try {
      const pid = redis.pid()
      await redis.stop('SIGKILL')
      expect(alive(pid)).toBe(false)
      await redis.restart()
      expect(await redis.cli('PING')).toBe('PONG')
    } finally {
      await redis.stop()
    }
  })

  it('listens on a unix socket too when asked', async () => {
    const redis = await startRedis({ unixSocket: true })
    try {
      expect(redis.socketPath).toMatch(/redis\.sock$/)
      expect(redis.unixUrl).toBe(`unix://${redis.socketPath}`)
      const pong = execFileSync('/usr/bin/redis-cli', ['-s', redis.socketPath!, 'PING'], {
        encoding: 'utf8',
      })
      expect(pong.trim()).toBe('PONG')
    } finally {
      await redis.stop()
    }
    expect(existsSync(redis.socketPath!)).toBe(false)
  })

  it('uses the port it is given, and fails clearly when that port is taken', async () => {
    const port = await freePort()
    const redis = await startRedis({ port })
    try {
      expect(redis.port).toBe(port)
      await expect(startRedis({ port })).rejects.toThrow(
        new RegExp(`redis-server on port ${port} did not answer PING[\\s\\S]*in use`),
      )
    } finally {
      await redis.stop()
    }
  })

  it('says how to install Redis when the binary is missing', async () => {
    await expect(startRedis({ binary: '/nonexistent/redis-server' })).rejects.toThrow(
      "/nonexistent/redis-server not found: install Debian's redis-server: " +
        'apt-get install redis-server',
    )
  })

  it('leaves no redis-server behind when the process that started it dies', async () => {
    // A plain node process runs the helper (bundled to JS) and kills itself with SIGKILL.
    const dir = mkdtempSync(join(tmpdir(), 'redis-helper-'))
    try {
      const bundle = join(dir, 'redis-server.mjs')
      await build({
        entryPoints: [join(import.meta.dirname, 'redis-server.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: bundle,
        logLevel: 'silent',
      })
      const script = [
        `const { startRedis } = await import(${JSON.stringify(bundle)})`,
        'const redis = await startRedis()',
        'console.log(redis.pid())',
        "process.kill(process.pid, 'SIGKILL')",
      ].join('\n')
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 15_000,
      })
      const pid = Number(result.stdout.trim())
      expect(pid, result.stderr).toBeGreaterThan(0)
      // The watchdog sees its stdin close and kills Redis; give it a moment.
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20))
      expect(alive(pid)).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
