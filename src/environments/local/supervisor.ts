/**
 * The local environment's supervisor daemon: the host of its ECS stand-in (../ecs/) over child
 * processes, its load balancers and its fault proxy.
 *
 * It is the parent of every process of the environment — nats-server nodes, redis-server, Redis
 * Cluster nodes and service tasks — so that each is reaped when it dies (a killed process whose
 * parent has gone stays a zombie on hosts whose init does not reap). Faults signal nodes and
 * caches directly by pid and start them again through the control API (POST /nodes/<name>/start,
 * /caches/<name>/start, /caches/<cache>/nodes/<node>/start); a Redis Cluster node is cut from its
 * peers and let back by its gates, which live here (POST /caches/<cache>/nodes/<node>/isolate,
 * /rejoin); tasks are the stand-in's (GET /tasks, POST /tasks/<id>/stop|kill).
 *
 * Started detached by `LocalEnvironment.up()`; SIGTERM stops every task gracefully, then the
 * servers, then exits.
 *   node supervisor.ts <stateDir>
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { Server as NetServer } from 'node:net'
import { canConnect } from '../../util/ports.ts'
import { FaultProxy } from '../../proxy/index.ts'
import { populateProxies } from '../fault-proxy.ts'
import { redisPersistenceArgs } from '../redis-config.ts'
import { EcsScheduler } from '../ecs/scheduler.ts'
import { serveTaskApi } from '../ecs/control-api.ts'
import { ProcessRuntime } from './process-runtime.ts'
import { clusterNodeCommand, LocalRedisClusters } from './redis-clusters.ts'
import { taskAccess } from './task-access.ts'
import { bundleEntries } from './entry-bundles.ts'
import { readState, type LocalState } from './state.ts'
import { recordProcess } from './state-dir.ts'
import { isAlive } from './processes.ts'

const NATS_BIN = process.env.GAMEDAY_NATS_SERVER ?? 'nats-server'
const REDIS_BIN = process.env.GAMEDAY_REDIS_SERVER ?? 'redis-server'

const say = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(JSON.stringify({ at: new Date().toISOString(), event, ...fields }) + '\n')

class Supervisor {
  private readonly infra = new Map<string, ChildProcess>()
  private readonly servers: (Server | NetServer)[] = []
  private readonly scheduler: EcsScheduler
  private proxy: FaultProxy | undefined
  private shuttingDown = false
  private bundles: Record<string, string> = {}
  private readonly clusters: LocalRedisClusters

  constructor(private readonly state: LocalState) {
    const nodes = Object.values(state.nodes)
    this.clusters = new LocalRedisClusters(state)
    this.scheduler = new EcsScheduler({
      definitions: state.services,
      azs: [...new Set(nodes.map((n) => n.az))].sort(),
      runtime: new ProcessRuntime({
        logsDir: state.logsDir,
        baseEnv: process.env,
        started: (pid, argv) => recordProcess(state.stateDir, pid, argv),
        bundle: (entry) => this.bundles[entry],
      }),
      // a task reaches NATS and Redis only through the proxied paths of its AZ and service
      ...taskAccess(state),
      extraEnv: { GAMEDAY_STATE_DIR: state.stateDir },
      say,
    })
  }

  /** Starts a nats-server node, a redis-server or a Redis Cluster node (`<cache>/<node>`) as our child; its pid file is what faults signal. */
  startInfra(kind: 'node' | 'cache' | 'cluster-node', name: string): number {
    const existing = this.infra.get(`${kind}:${name}`)
    // a process that has exited but whose exit event is still queued (not yet reaped) is not running
    if (existing && existing.exitCode === null && existing.signalCode === null && isAlive(existing.pid)) return existing.pid!
    let command: string
    let args: string[]
    let pidFile: string
    let logFile: string
    if (kind === 'node') {
      const n = this.state.nodes[name]
      if (!n) throw new Error(`no node ${name}`)
      ;[command, args, pidFile, logFile] = [NATS_BIN, ['-c', n.confFile], n.pidFile, n.logFile]
    } else if (kind === 'cluster-node') {
      const [cache, node] = name.split('/')
      const rc = this.state.redisClusters[cache]
      const n = rc?.nodes[node]
      if (!n) throw new Error(`no node ${node} in Redis Cluster ${cache}`)
      ;[command, args, pidFile, logFile] = [REDIS_BIN, clusterNodeCommand(rc, n), n.pidFile, n.logFile]
    } else {
      const c = this.state.caches[name]
      if (!c) throw new Error(`no cache ${name}`)
      ;[command, args, pidFile, logFile] = [
        REDIS_BIN,
        ['--port', String(c.port), '--bind', '127.0.0.1', ...redisPersistenceArgs(c.persistence), '--dir', c.dir],
        c.pidFile,
        c.logFile,
      ]
    }
    const log = createWriteStream(logFile, { flags: 'a' })
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.pipe(log)
    child.stderr!.pipe(log)
    if (!child.pid) throw new Error(`cannot start ${command}`)
    recordProcess(this.state.stateDir, child.pid, [command, ...args])
    writeFileSync(pidFile, String(child.pid))
    this.infra.set(`${kind}:${name}`, child)
    return child.pid
  }

  private async startControl(): Promise<void> {
    const server = createHttpServer((req, res) => {
      if (serveTaskApi(this.scheduler, req, res)) return
      const m = /^\/(nodes|caches)\/([^/]+)\/start$/.exec(req.url ?? '')
      const c = /^\/caches\/([^/]+)\/nodes\/([^/]+)\/(start|isolate|rejoin)$/.exec(req.url ?? '')
      if (req.method !== 'POST' || (!m && !c)) {
        res.writeHead(404).end()
        return
      }
      const reply = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value))
      try {
        if (m) return reply({ pid: this.startInfra(m[1] === 'nodes' ? 'node' : 'cache', decodeURIComponent(m[2])) })
        const [cache, node, action] = [decodeURIComponent(c![1]), decodeURIComponent(c![2]), c![3]]
        if (action === 'start') return reply({ pid: this.startInfra('cluster-node', `${cache}/${node}`) })
        if (action === 'isolate') return reply({ cutFrom: this.clusters.isolate(cache, node) })
        this.clusters.rejoin(cache, node)
        reply({})
      } catch (err) {
        res.writeHead(400).end((err as Error).message)
      }
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.state.controlPort, '127.0.0.1', () => resolve())
    })
    this.servers.push(server)
  }

  /** The fault proxy with every link of the environment, before anything tries to use one. */
  private async startProxy(): Promise<void> {
    if (this.state.proxy.embedded) this.proxy = await FaultProxy.start({ listen: `127.0.0.1:${this.state.proxy.adminPort}` })
    await populateProxies(
      this.state.proxy.url,
      this.state.links.map((l) => ({
        name: l.name,
        listen: `127.0.0.1:${l.listenPort}`,
        upstream: `${l.upstreamHost ?? '127.0.0.1'}:${l.upstreamPort}`,
        enabled: l.enabled,
      })),
    )
  }

  async start(): Promise<void> {
    // the tasks' entries compile (in esbuild's own process) while the servers start
    const entries = Object.values(this.state.services).flatMap((d) => (d.entry ? [d.entry] : []))
    const bundled = bundleEntries(entries).then((b) => (this.bundles = b))
    await this.startProxy()
    await this.startControl()
    // Redis Clusters form while the NATS nodes start: both take a second or two, neither needs the other
    await this.clusters.startGates()
    for (const rc of Object.values(this.state.redisClusters)) for (const n of Object.keys(rc.nodes)) this.startInfra('cluster-node', `${rc.name}/${n}`)
    const formed = this.clusters.form().then(
      () => say('redis-clusters.formed'),
      (err: Error) => say('redis-clusters.failed', { error: err.message }),
    )
    // one node after the other, each once the one before listens for routes: a node's routes then
    // reach every earlier node at once (a route that fails waits 1 s to retry), so the votes of
    // JetStream's first meta-leader election are heard — started all at once, every node's early
    // campaign fires before the mesh exists, all vote for themselves, and the next try is 4–9 s later
    for (const n of Object.values(this.state.nodes)) {
      this.startInfra('node', n.name)
      const until = Date.now() + 1000
      while (Date.now() < until && !(await canConnect(n.clusterPort, '127.0.0.1', 200))) await new Promise((r) => setTimeout(r, 10))
    }
    for (const name of Object.keys(this.state.caches)) this.startInfra('cache', name)
    for (const [service, port] of Object.entries(this.state.lbPorts)) this.servers.push(await this.scheduler.balancer(service).listen(port, '127.0.0.1'))
    // tasks connect at start: let the servers listen first, as ECS would start them after the cluster
    const ports = [...Object.values(this.state.nodes).map((n) => n.clientPort), ...Object.values(this.state.caches).map((c) => c.port)]
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline && !(await Promise.all(ports.map((port) => canConnect(port)))).every(Boolean)) await new Promise((r) => setTimeout(r, 50))
    await bundled
    await formed
    if (!this.shuttingDown) await this.scheduler.start()
  }

  async shutdown(): Promise<void> {
    if (this.shuttingDown) return
    this.shuttingDown = true
    for (const s of this.servers) s.close()
    await this.scheduler.shutdown()
    // then the infrastructure, as an operator would: SIGTERM, SIGKILL after a grace
    await Promise.all(
      [...this.infra.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
            child.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            child.kill('SIGCONT')
            child.kill('SIGTERM')
          }),
      ),
    )
    await this.clusters.stopGates()
    await this.proxy?.close()
  }
}

async function main(): Promise<void> {
  const stateDir = process.argv[2]
  const state = stateDir ? readState(stateDir) : undefined
  if (!state) {
    console.error(`supervisor: no environment state in ${stateDir}`)
    process.exit(2)
  }
  writeFileSync(state.supervisorPidFile, String(process.pid))
  const supervisor = new Supervisor(state)
  const stop = () => void supervisor.shutdown().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  await supervisor.start()
  say('supervisor.ready', { pid: process.pid })
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
