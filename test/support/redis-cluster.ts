/**
 * A real Redis Cluster for tests, shaped as the local environment runs one: a redis-server per
 * node on a loopback address of its own, a client gate and a bus gate in front of each (what
 * the node announces), formed and checked before it returns. `stop()` ends every process and
 * gate and removes the folder.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster } from 'ioredis'
import { readFileSync } from 'node:fs'
import { formCluster, type ReachableNode } from '../../src/environments/redis-cluster/form.ts'
import { SourceGate, type GatedNode } from '../../src/environments/redis-cluster/gate.ts'
import { clusterNodeArgs, planClusterNodes, type RedisClusterConfig } from '../../src/environments/redis-cluster/plan.ts'
import { makeEnvironmentPki, type EnvironmentPki } from '../../src/environments/tls/environment-pki.ts'
import { waitFor } from '../../src/util/abort.ts'
import { canConnect, freePorts } from '../../src/util/ports.ts'

export interface TestRedisNode extends ReachableNode {
  bindHost: string
  realPort: number
  busPort: number
  dir: string
  process?: ChildProcess
  log: string
}

export interface TestRedisCluster {
  nodes: TestRedisNode[]
  gated: GatedNode[]
  password?: string
  pki?: EnvironmentPki
  args(node: TestRedisNode): string[]
  start(node: TestRedisNode): Promise<void>
  kill(node: TestRedisNode): Promise<void>
  /** an ioredis Cluster client as a service would open it, ready */
  client(opts?: { commandTimeout?: number }): Promise<Cluster>
  stop(): Promise<void>
}

export async function startRedisCluster(
  config: Partial<Pick<RedisClusterConfig, 'shards' | 'replicasPerShard' | 'auth' | 'tls' | 'minReplicasToWrite' | 'nodeTimeout'>> = {},
): Promise<TestRedisCluster> {
  const full = {
    shards: 3,
    replicasPerShard: 1,
    auth: false,
    tls: false,
    minReplicasToWrite: 0,
    nodeTimeout: 1_000,
    minReplicasMaxLag: 2_000,
    persistence: 'none' as const,
    ...config,
  }
  const dir = mkdtempSync(join(tmpdir(), 'gameday-test-rcluster-'))
  const plan = planClusterNodes('cache', full, ['az-a', 'az-b', 'az-c'])
  const ports = await freePorts(plan.length * 4)
  // a loopback address per node, distinct per test run (the ports are)
  const base = ports[0] % 250
  const password = full.auth ? 'test-secret' : undefined
  const pki = full.tls ? await makeEnvironmentPki(join(dir, 'tls'), { servers: plan.map((n) => ({ name: n.name, names: [] })), clients: [] }) : undefined
  const nodes: TestRedisNode[] = plan.map((p, i) => ({
    ...p,
    bindHost: `127.1.${base}.${i + 1}`,
    realPort: ports[i * 4],
    busPort: ports[i * 4 + 1],
    host: '127.0.0.1',
    port: ports[i * 4 + 2],
    announceHost: '127.0.0.1',
    announcePort: ports[i * 4 + 2],
    announceBusPort: ports[i * 4 + 3],
    dir: join(dir, p.name),
    log: '',
  }))
  const gated: GatedNode[] = nodes.map((n) => ({
    name: n.name,
    source: n.bindHost,
    gates: [
      new SourceGate(`${n.name}-client`, { host: '127.0.0.1', port: n.announcePort }, { host: n.bindHost, port: n.realPort }),
      new SourceGate(`${n.name}-bus`, { host: '127.0.0.1', port: n.announceBusPort }, { host: n.bindHost, port: n.busPort }),
    ],
  }))
  const args = (n: TestRedisNode) =>
    clusterNodeArgs(
      n,
      {
        bindHost: n.bindHost,
        port: n.realPort,
        busPort: n.busPort,
        announceHost: n.announceHost,
        announcePort: n.announcePort,
        announceBusPort: n.announceBusPort,
        dir: n.dir,
      },
      full,
      { password, ...(pki ? { tls: { caFile: pki.caFile, ...pki.servers[n.name] } } : {}) },
    )
  const start = async (n: TestRedisNode) => {
    mkdirSync(n.dir, { recursive: true })
    n.log = ''
    const child = spawn('redis-server', args(n), { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.on('data', (d) => (n.log += d))
    child.stderr!.on('data', (d) => (n.log += d))
    n.process = child
    await waitFor(
      `redis ${n.name} to listen`,
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server ${n.name} exited: ${n.log}`)
        return canConnect(n.realPort, n.bindHost)
      },
      { timeoutMs: 10_000, intervalMs: 25 },
    )
  }
  const kill = async (n: TestRedisNode) => {
    const child = n.process
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }
  const clients: Cluster[] = []
  const cluster: TestRedisCluster = {
    nodes,
    gated,
    password,
    pki,
    args,
    start,
    kill,
    client: async (opts = {}) => {
      const c = new Cluster(
        nodes.map((n) => ({ host: n.host, port: n.port })),
        {
          redisOptions: {
            password,
            ...(pki ? { tls: { ca: readFileSync(pki.caFile) } } : {}),
            connectTimeout: 1_000,
            commandTimeout: opts.commandTimeout ?? 2_000,
            maxRetriesPerRequest: 0,
          },
          enableOfflineQueue: false,
          slotsRefreshTimeout: 1_000,
          clusterRetryStrategy: () => 100,
        },
      )
      c.on('error', () => {})
      clients.push(c)
      await new Promise((resolve) => c.once('ready', resolve))
      return c
    },
    stop: async () => {
      for (const c of clients) c.disconnect()
      await Promise.all(nodes.map(kill))
      await Promise.all(gated.flatMap((g) => g.gates.map((x) => x.stop())))
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    for (const g of gated) for (const gate of g.gates) await gate.start()
    await Promise.all(nodes.map(start))
    await formCluster(nodes, { password, caFile: pki?.caFile }, { timeoutMs: 20_000 })
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}
