import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { freePort } from './free-port.js'
import { findPostgresBinDir, startPostgres, type PostgresServer } from './postgres.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** psql over TCP as the server's role with `password`; resolves with psql's exit code + stderr. */
function connectWith(
  server: PostgresServer,
  password: string,
): Promise<{ ok: boolean; stderr: string }> {
  const psql = join(findPostgresBinDir()!, 'psql')
  const args = ['-X', '-At', '-h', '127.0.0.1', '-p', String(server.port), '-U', server.user]
  return new Promise((resolve) => {
    execFile(
      psql,
      [...args, '-d', server.database, '-c', 'SELECT 1'],
      { env: { PATH: '/usr/bin:/bin', PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' } },
      (error, _stdout, stderr) => resolve({ ok: error === null, stderr }),
    )
  })
}

describe('startPostgres', () => {
  it('starts a cluster with a password role owning a database, answers SQL, and stops', async () => {
    const pg = await startPostgres()
    const { port, user, password, database } = pg
    expect(pg.host).toBe('127.0.0.1')
    expect(pg.url).toBe(`postgres://${user}:${password}@127.0.0.1:${port}/${database}`)
    expect(existsSync(join(pg.socketDir, `.s.PGSQL.${port}`))).toBe(true)
    expect(await pg.psql('SELECT current_user, current_database();')).toBe(`${user}|${database}`)
    expect(await pg.psql('SHOW fsync')).toBe('off')
    expect(await pg.psql('CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2); TABLE t')).toBe(
      '1\n2',
    )
    await expect(pg.psql('SELEC 1')).rejects.toThrow(/syntax error at or near "SELEC"/)
    expect(await connectWith(pg, password)).toEqual({ ok: true, stderr: '' })
    const wrong = await connectWith(pg, 'wrong')
    expect(wrong.ok).toBe(false)
    expect(wrong.stderr).toMatch(/password authentication failed/)
    const pid = pg.pid()
    expect(alive(pid)).toBe(true)
    await pg.stop()
    expect(alive(pid)).toBe(false)
    expect(pg.pid()).toBe(0)
    expect(existsSync(pg.socketDir)).toBe(false)
    await expect(pg.psql('SELECT 1')).rejects.toThrow(/Connection refused/)
    await pg.stop()
    await expect(pg.restart()).rejects.toThrow(`postgres on port ${port} was stopped and removed`)
  })

  it('restarts on the same port with the data kept', async () => {
    const pg = await startPostgres()
    try {
      await pg.psql("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('here')")
      const { port } = pg
      const pid = pg.pid()
      await pg.restart()
      expect(pg.port).toBe(port)
      expect(pg.pid()).not.toBe(pid)
      expect(alive(pid)).toBe(false)
      expect(await pg.psql('TABLE kept')).toBe('here')
    } finally {
      await pg.stop()
    }
  })

  it('stops with SIGKILL like a crash: connections fail, and restart recovers the data', async () => {
    const pg = await startPostgres()
    try {
      await pg.psql("CREATE TABLE committed (v text); INSERT INTO committed VALUES ('before')")
      const pid = pg.pid()
      await pg.stop('SIGKILL')
      expect(alive(pid)).toBe(false)
      await expect(pg.psql('SELECT 1')).rejects.toThrow(/Connection refused/)
      expect(existsSync(pg.socketDir)).toBe(true)
      await pg.restart()
      expect(await pg.psql('TABLE committed')).toBe('before')
      expect(pg.log()).toMatch(/database system was interrupted|not properly shut down/)
    } finally {
      await pg.stop()
    }
    expect(existsSync(pg.socketDir)).toBe(false)
  })

  it('creates the role and database it is given, quoting them', async () => {
    const pg = await startPostgres({ user: 'we"ird', password: "p@ss:'/w", database: 'my db' })
    try {
      expect(pg.url).toBe(`postgres://we%22ird:p%40ss%3A'%2Fw@127.0.0.1:${pg.port}/my%20db`)
      expect(await pg.psql('SELECT current_user, current_database()')).toBe('we"ird|my db')
      expect(await connectWith(pg, "p@ss:'/w")).toEqual({ ok: true, stderr: '' })
    } finally {
      await pg.stop()
    }
  })

  it('uses the port it is given, and fails clearly when that port is taken', async () => {
    const port = await freePort()
    const pg = await startPostgres({ port })
    try {
      expect(pg.port).toBe(port)
      await expect(startPostgres({ port })).rejects.toThrow(
        new RegExp(`postgres on port ${port} did not start:[\\s\\S]*already in use`),
      )
    } finally {
      await pg.stop()
    }
  })

  it('says how to install PostgreSQL when the binaries are missing', async () => {
    await expect(startPostgres({ binDir: '/nonexistent/bin' })).rejects.toThrow(
      "PostgreSQL's initdb not found in /nonexistent/bin: install Debian's PostgreSQL server: " +
        'apt-get install postgresql',
    )
    const empty = mkdtempSync(join(tmpdir(), 'pg-root-'))
    try {
      expect(findPostgresBinDir(join(empty, 'missing'))).toBeNull()
      expect(findPostgresBinDir(empty)).toBeNull()
      for (const version of ['9.6', '13', '15', '16']) {
        const bin = join(empty, version, 'bin')
        mkdirSync(bin, { recursive: true })
        writeFileSync(join(bin, 'initdb'), '')
        // 16 has only the client programs (postgresql-client-16 without the server).
        if (version !== '16') writeFileSync(join(bin, 'postgres'), '')
      }
      mkdirSync(join(empty, 'common'))
      expect(findPostgresBinDir(empty)).toBe(join(empty, '15', 'bin'))
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })

  it('leaves no postgres and no cluster behind when the process that started it dies', async () => {
    // A plain node process runs the helper (bundled to JS) and kills itself with SIGKILL.
    const dir = mkdtempSync(join(tmpdir(), 'pg-helper-'))
    try {
      const bundle = join(dir, 'postgres.mjs')
      await build({
        entryPoints: [join(import.meta.dirname, 'postgres.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: bundle,
        logLevel: 'silent',
      })
      const script = [
        `const { startPostgres } = await import(${JSON.stringify(bundle)})`,
        'const pg = await startPostgres()',
        'console.log(JSON.stringify({ pid: pg.pid(), dir: pg.socketDir }))',
        "process.kill(process.pid, 'SIGKILL')",
      ].join('\n')
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 15_000,
      })
      const { pid, dir: cluster } = JSON.parse(result.stdout) as { pid: number; dir: string }
      expect(pid, result.stderr).toBeGreaterThan(0)
      // The watchdog sees its stdin close, shuts PostgreSQL down and removes the cluster.
      for (let i = 0; i < 250 && (alive(pid) || existsSync(cluster)); i++) {
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(alive(pid)).toBe(false)
      expect(existsSync(cluster)).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
