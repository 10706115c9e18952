/**
 * A real NATS cluster for tests: n nats-server processes on loopback, configured by
 * `natsServerConfig` (optionally with TLS and accounts), routes formed before it returns;
 * `stop()` kills them all and removes their folder. Each node can be restarted and reloaded.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { natsServerConfig, type NatsNodeConfig } from '../../src/environments/nats-config.ts'
import { waitFor } from '../../src/util/abort.ts'
import { canConnect, freePorts } from '../../src/util/ports.ts'

export interface TestNode {
  name: string
  clientPort: number
  httpPort: number
  clusterPort: number
  confFile: string
  dir: string
  process?: ChildProcess
  log: string
}

export interface TestNatsCluster {
  dir: string
  nodes: TestNode[]
  urls(scheme?: string): string[]
  start(node: TestNode): Promise<void>
  kill(node: TestNode): Promise<void>
  /** nats-server --signal reload (SIGHUP): re-reads its configuration, certificates included */
  reload(node: TestNode): void
  stop(): Promise<void>
}

export async function startNatsCluster(
  size: number,
  extra: (node: { name: string; dir: string }) => Partial<NatsNodeConfig> = () => ({}),
): Promise<TestNatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-test-cluster-'))
  const ports = await freePorts(size * 3)
  const nodes: TestNode[] = Array.from({ length: size }, (_, i) => ({
    name: `n${i + 1}`,
    clientPort: ports[i * 3],
    httpPort: ports[i * 3 + 1],
    clusterPort: ports[i * 3 + 2],
    confFile: join(dir, `n${i + 1}`, 'nats.conf'),
    dir: join(dir, `n${i + 1}`),
    log: '',
  }))
  for (const n of nodes) {
    mkdirSync(n.dir, { recursive: true })
    writeFileSync(
      n.confFile,
      natsServerConfig({
        name: n.name,
        az: `az-${n.name}`,
        cluster: 'test',
        clientListen: `127.0.0.1:${n.clientPort}`,
        httpListen: `127.0.0.1:${n.httpPort}`,
        clusterListen: `127.0.0.1:${n.clusterPort}`,
        routes: nodes.filter((m) => m !== n).map((m) => `nats-route://127.0.0.1:${m.clusterPort}`),
        noClientAdvertise: true,
        storeDir: join(n.dir, 'store'),
        maxMemoryStore: '64MB',
        maxFileStore: '256MB',
        ...extra({ name: n.name, dir: n.dir }),
      }),
    )
  }
  const start = async (n: TestNode) => {
    n.log = ''
    const child = spawn('nats-server', ['-c', n.confFile], { stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr!.on('data', (d) => (n.log += d))
    n.process = child
    await waitFor(
      `nats ${n.name} to listen`,
      async () => {
        if (child.exitCode !== null) throw new Error(`nats-server ${n.name} exited: ${n.log}`)
        return canConnect(n.clientPort)
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    )
  }
  const kill = async (n: TestNode) => {
    const child = n.process
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }
  const cluster: TestNatsCluster = {
    dir,
    nodes,
    urls: (scheme = 'nats') => nodes.map((n) => `${scheme}://127.0.0.1:${n.clientPort}`),
    start,
    kill,
    reload: (n) => n.process?.kill('SIGHUP'),
    stop: async () => {
      await Promise.all(nodes.map(kill))
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    await Promise.all(nodes.map(start))
    await waitFor(
      'routes between every node',
      async () => {
        const counts = await Promise.all(
          nodes.map(async (n) => ((await (await fetch(`http://127.0.0.1:${n.httpPort}/routez`)).json()) as { num_routes: number }).num_routes),
        )
        return counts.every((c) => c >= size - 1)
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    )
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}
