/**
 * Single real servers for tests: one nats-server with JetStream, one redis-server, each on a free
 * loopback port in its own temp directory, killed (and the directory removed) by `stop()`.
 * Use with `afterAll(() => server.stop())` or `await using`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { canConnect, freePort } from '../../src/util/ports.ts'
import { waitFor } from '../../src/util/abort.ts'

export interface TestServer {
  url: string
  host: string
  port: number
  dir: string
  process: ChildProcess
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

async function startProcess(name: string, cmd: string, args: (dir: string, port: number) => string[], scheme: string): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), `gameday-test-${name}-`))
  const port = await freePort()
  const child = spawn(cmd, args(dir, port), { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitFor(
      `${name} on port ${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}`)
        return canConnect(port)
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    )
  } catch (err) {
    await stop()
    throw err
  }
  return { url: `${scheme}://127.0.0.1:${port}`, host: '127.0.0.1', port, dir, process: child, stop, [Symbol.asyncDispose]: stop }
}

export function startNatsServer(opts: { jetstream?: boolean } = {}): Promise<TestServer> {
  return startProcess(
    'nats',
    'nats-server',
    (dir, port) => {
      const conf = join(dir, 'nats.conf')
      writeFileSync(conf, `listen: 127.0.0.1:${port}\n${opts.jetstream === false ? '' : `jetstream { store_dir: "${join(dir, 'js')}" }\n`}`)
      return ['-c', conf]
    },
    'nats',
  )
}

export function startRedisServer(): Promise<TestServer> {
  return startProcess(
    'redis',
    'redis-server',
    (dir, port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    'redis',
  )
}
