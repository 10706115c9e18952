/**
 * The local environment (the embedded default): a NATS cluster of nats-server processes,
 * redis-server, and the target's services as tasks under a supervisor daemon — all on
 * loopback, no Docker, no cloud. Every process is tracked by a pid file under the state
 * directory so `env down`, Ctrl-C or a later session can remove everything.
 */
import { describeNodeAction, topologyOf } from '../topology.ts'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type {
  Capability,
  CacheControl,
  Endpoints,
  Environment,
  EnvironmentStatus,
  Logger,
  NodeControl,
  NodeInfo,
  TaskControl,
  TaskInfo,
  Topology,
} from '../../api/environment.ts'
import { sleep, waitFor } from '../../util/abort.ts'
import { parseDuration } from '../../util/duration.ts'
import { canConnect, freePorts } from '../../util/ports.ts'
import { nodeCommand, REPO_ROOT } from '../../util/node-entry.ts'
import { natsServerConfig } from '../nats-config.ts'
import { observeCluster } from '../../nats/monitor.ts'
import type { LocalConfig } from './config.ts'
import { gossipLink, linkCount, planLinks, routeLink } from './links.ts'
import { LocalNetwork } from './network.ts'
import { isAlive, isStopped, killHard, processesOf, readPid, removePidFile, signal, spawnDetached, terminate, waitForExit } from './processes.ts'
import { readState, readTasks, stateFile, writeJsonAtomic, type LocalState, type NodeState, type TaskRecord } from './state.ts'

const NATS_BIN = process.env.GAMEDAY_NATS_SERVER ?? 'nats-server'

export class LocalEnvironment implements Environment {
  readonly kind = 'local' as const
  readonly stateDir: string

  constructor(
    readonly config: LocalConfig,
    readonly source: string,
  ) {
    this.stateDir = resolve(REPO_ROOT, process.env.GAMEDAY_LOCAL_STATE_DIR ?? config.stateDir)
  }

  private state(): LocalState {
    const s = readState(this.stateDir)
    if (!s) throw new Error(`the local environment is not up (no ${stateFile(this.stateDir)}): run \`gameday env up\``)
    return s
  }

  topology(): Topology {
    return topologyOf(this.config)
  }

  /** no capability beyond the common parts */
  capability<T>(_key: Capability<T>): T | undefined {
    return undefined
  }

  readonly network = new LocalNetwork(
    () => this.state(),
    () => this.topology(),
  )

  /** the fault proxy's admin URL (Toxiproxy API) while the environment is up */
  proxyUrl(): string {
    return this.state().proxy.url
  }

  // ---- endpoints -------------------------------------------------------------------------

  readonly endpoints: Endpoints = {
    natsServers: (cluster) =>
      Object.values(this.state().nodes)
        .filter((n) => n.cluster === cluster)
        .map((n) => `nats://127.0.0.1:${n.clientPort}`),
    natsMonitor: (cluster, node) => {
      const n = this.state().nodes[node]
      if (!n || n.cluster !== cluster) throw new Error(`no node ${node} in cluster ${cluster}`)
      return `http://127.0.0.1:${n.httpPort}`
    },
    redis: (cache) => {
      const c = this.state().caches[cache]
      if (!c) throw new Error(`no cache "${cache}" in ${this.source}`)
      return { host: '127.0.0.1', port: c.port }
    },
    gateway: () => {
      const port = this.state().lbPorts['gateway'] ?? Object.values(this.state().lbPorts)[0]
      if (!port) throw new Error(`no HTTP service in ${this.source}`)
      return `http://127.0.0.1:${port}`
    },
  }

  // ---- nodes -----------------------------------------------------------------------------

  private nodeState(node: NodeInfo): NodeState {
    const n = this.state().nodes[node.name]
    if (!n) throw new Error(`no node ${node.name} in cluster ${node.cluster}`)
    return n
  }

  /** Asks the supervisor to start a process: it becomes the parent, so the process is reaped when it dies. */
  private async control(path: string): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.state().controlPort}${path}`, { method: 'POST', signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new Error(`supervisor refused ${path}: ${await res.text()}`)
  }

  readonly nodes: NodeControl = {
    describe: describeNodeAction,
    kill: async (node) => {
      const n = this.nodeState(node)
      await killHard(readPid(n.pidFile))
    },
    stop: async (node) => {
      const n = this.nodeState(node)
      await terminate(readPid(n.pidFile), 30_000)
    },
    start: async (node) => {
      const n = this.nodeState(node)
      const pid = readPid(n.pidFile)
      if (isAlive(pid, NATS_BIN)) {
        if (isStopped(pid!)) signal(pid, 'SIGCONT')
        return
      }
      await this.control(`/nodes/${encodeURIComponent(n.name)}/start`)
      await waitFor(`node ${n.name} to listen`, async () => canConnect(n.clientPort, '127.0.0.1', 500), { timeoutMs: 20_000, intervalMs: 50 })
    },
    pause: async (node) => {
      signal(readPid(this.nodeState(node).pidFile), 'SIGSTOP')
    },
    resume: async (node) => {
      signal(readPid(this.nodeState(node).pidFile), 'SIGCONT')
    },
    lameDuck: async (node) => {
      signal(readPid(this.nodeState(node).pidFile), 'SIGUSR2')
    },
    isRunning: async (node) => isAlive(readPid(this.nodeState(node).pidFile), NATS_BIN),
    storeDir: (node) => this.nodeState(node).storeDir,
  }

  // ---- tasks -----------------------------------------------------------------------------

  private taskRecords(): TaskRecord[] {
    return readTasks(this.state().tasksFile)?.tasks ?? []
  }

  readonly tasks: TaskControl = {
    list: async (service) =>
      this.taskRecords()
        .filter((t) => t.service === service && t.state !== 'STOPPED')
        .map((t): TaskInfo => ({ service: t.service, id: t.id, az: t.az, state: t.state, startedAt: t.startedAt })),
    stop: async (task, opts) => {
      const rec = this.taskRecords().find((t) => t.id === task.id)
      const grace = opts?.graceMs ?? 10_000
      if (!rec) return
      // as ECS does for a task behind a load balancer: out of the target group first, SIGTERM after the deregistration delay
      if (rec.port && rec.state !== 'STOPPED') {
        // refused only for a task that already exited: there is nothing left to take out of the balancer
        await this.control(`/tasks/${encodeURIComponent(rec.id)}/deregister`).catch(() => {})
        await sleep(parseDuration(this.config.services[rec.service]?.deregistrationDelay ?? '0s'))
      }
      await terminate(rec.pid, grace)
    },
    kill: async (task) => {
      const rec = this.taskRecords().find((t) => t.id === task.id)
      if (rec) await killHard(rec.pid)
    },
    waitForDesired: async (service, timeoutMs, sig) => {
      const desired = this.config.services[service]?.instances ?? 0
      await waitFor(
        `${service} to run ${desired} ready tasks`,
        async () => this.taskRecords().filter((t) => t.service === service && t.state === 'RUNNING').length >= desired,
        { timeoutMs, intervalMs: 100, signal: sig },
      )
    },
    history: async (service) => this.taskRecords().filter((t) => t.service === service),
  }

  readonly caches: CacheControl = {
    kill: async (cache) => {
      const c = this.state().caches[cache]
      if (!c) throw new Error(`no cache ${cache}`)
      await killHard(readPid(c.pidFile))
    },
    start: async (cache) => {
      const c = this.state().caches[cache]
      if (!c) throw new Error(`no cache ${cache}`)
      if (isAlive(readPid(c.pidFile))) return
      await this.control(`/caches/${encodeURIComponent(cache)}/start`)
      await waitFor(`redis ${cache} to listen`, async () => canConnect(c.port, '127.0.0.1', 500), { timeoutMs: 10_000, intervalMs: 50 })
    },
    isRunning: async (cache) => isAlive(readPid(this.state().caches[cache]?.pidFile ?? '')),
  }

  /** Every task record the supervisor kept, stopped ones included (for timing reports). */
  taskHistory(): TaskRecord[] {
    return this.taskRecords()
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async isUp(): Promise<boolean> {
    const s = readState(this.stateDir)
    if (!s) return false
    return isAlive(readPid(s.supervisorPidFile))
  }

  async up(log: Logger, abort?: AbortSignal): Promise<void> {
    if (await this.isUp()) {
      log.info(`local environment already up (${this.stateDir})`)
      return
    }
    if (existsSync(this.stateDir)) await this.down(log) // leftovers of a crashed run
    const logsDir = join(this.stateDir, 'logs')
    mkdirSync(logsDir, { recursive: true })
    mkdirSync(join(this.stateDir, 'pids'), { recursive: true })

    const nodeList = Object.entries(this.config.clusters).flatMap(([cluster, c]) => c.nodes.map((n) => ({ cluster, ...n })))
    const azList = [...new Set(nodeList.map((n) => n.az))].sort()
    const cacheUses = Object.values(this.config.services).reduce((n, s) => n + s.caches.length, 0)
    const ports = await freePorts(
      nodeList.length * 3 +
        Object.keys(this.config.caches).length +
        Object.keys(this.config.services).length +
        2 +
        linkCount({ nodes: nodeList.length, azs: azList, services: [], cacheUses }),
    )
    const take = () => ports.shift()!
    const nodes: Record<string, NodeState> = {}
    for (const n of nodeList) {
      const dir = join(this.stateDir, 'nats', n.name)
      mkdirSync(dir, { recursive: true })
      nodes[n.name] = {
        cluster: n.cluster,
        name: n.name,
        az: n.az,
        clientPort: take(),
        httpPort: take(),
        clusterPort: take(),
        confFile: join(dir, 'nats.conf'),
        pidFile: join(this.stateDir, 'pids', `${n.name}.pid`),
        logFile: join(logsDir, `${n.name}.log`),
        storeDir: join(dir, 'store'),
      }
    }
    const caches: LocalState['caches'] = {}
    for (const [name, c] of Object.entries(this.config.caches)) {
      const dir = join(this.stateDir, 'redis', name)
      mkdirSync(dir, { recursive: true })
      caches[name] = {
        name,
        az: c.az,
        port: take(),
        pidFile: join(this.stateDir, 'pids', `redis-${name}.pid`),
        logFile: join(logsDir, `redis-${name}.log`),
        dir,
        persistence: c.persistence,
      }
    }
    const lbPorts: Record<string, number> = {}
    for (const [name, s] of Object.entries(this.config.services)) if (s.http) lbPorts[name] = take()
    const links = planLinks(
      {
        nodes: Object.values(nodes),
        azs: azList,
        caches: Object.values(caches).map((c) => ({ name: c.name, port: c.port })),
        services: Object.entries(this.config.services).map(([name, s]) => ({ name, caches: s.caches })),
      },
      take,
    )
    const proxyAdminPort = take()
    const external = process.env.TOXIPROXY_URL

    const state: LocalState = {
      version: 1,
      createdAt: new Date().toISOString(),
      stateDir: this.stateDir,
      nodes,
      caches,
      services: this.config.services,
      lbPorts,
      proxy: { url: external ?? `http://127.0.0.1:${proxyAdminPort}`, embedded: !external, adminPort: proxyAdminPort },
      links,
      supervisorPidFile: join(this.stateDir, 'pids', 'supervisor.pid'),
      controlPort: take(),
      tasksFile: join(this.stateDir, 'tasks.json'),
      logsDir,
    }
    // state first: if anything below fails, `down` finds every pid file
    writeJsonAtomic(stateFile(this.stateDir), state)

    try {
      for (const [cluster, c] of Object.entries(this.config.clusters)) {
        const members = Object.values(nodes).filter((n) => n.cluster === cluster)
        for (const n of members) {
          writeFileSync(
            n.confFile,
            natsServerConfig({
              name: n.name,
              az: n.az,
              cluster,
              clientListen: `127.0.0.1:${n.clientPort}`,
              httpListen: `127.0.0.1:${n.httpPort}`,
              clusterListen: `127.0.0.1:${n.clusterPort}`,
              // every route through its own proxy; the gossiped address is a disabled proxy, so no direct path exists
              routes: members
                .filter((m) => m !== n)
                .map((m) => `nats-route://127.0.0.1:${links.find((l) => l.name === routeLink(n.name, m.name))!.listenPort}`),
              clusterAdvertise: `127.0.0.1:${links.find((l) => l.name === gossipLink(n.name))!.listenPort}`,
              noClientAdvertise: true,
              storeDir: n.storeDir,
              maxMemoryStore: c.maxMemoryStore,
              maxFileStore: c.maxFileStore,
            }),
          )
        }
      }
      // the supervisor starts (and owns) every process: NATS nodes, Redis, then the services
      const { command, args } = nodeCommand('src/environments/local/supervisor.ts')
      spawnDetached({ command, args: [...args, this.stateDir], logFile: join(logsDir, 'supervisor.log'), pidFile: state.supervisorPidFile, cwd: REPO_ROOT })
      log.info(`starting ${nodeList.length} nats-server nodes and ${Object.keys(caches).length} redis-server`)
      for (const cluster of Object.keys(this.config.clusters)) {
        await waitFor(
          `cluster ${cluster} to form with a JetStream meta leader`,
          async () => {
            if (!isAlive(readPid(state.supervisorPidFile))) throw new Error(`the supervisor exited; see ${join(logsDir, 'supervisor.log')}`)
            for (const n of Object.values(nodes)) {
              const pid = readPid(n.pidFile)
              if (pid && !isAlive(pid)) throw new Error(`nats-server ${n.name} exited; see ${n.logFile}`)
            }
            return (await observeCluster(this, cluster)).healthy
          },
          { timeoutMs: 60_000, intervalMs: 200, signal: abort },
        )
      }
      for (const c of Object.values(caches)) {
        await waitFor(`redis ${c.name}`, async () => canConnect(c.port, '127.0.0.1', 500), { timeoutMs: 10_000, intervalMs: 50, signal: abort })
      }
      log.info(
        `starting services: ${Object.entries(this.config.services)
          .map(([n, s]) => `${n}×${s.instances}`)
          .join(', ')}`,
      )
      for (const service of Object.keys(this.config.services)) {
        await waitFor(
          `${service} tasks to be ready`,
          async () => {
            if (!isAlive(readPid(state.supervisorPidFile))) throw new Error(`the supervisor exited; see ${join(logsDir, 'supervisor.log')}`)
            const t = this.taskRecords().filter((r) => r.service === service)
            const crashed = t.filter((r) => r.state === 'STOPPED').length
            if (crashed >= 3) throw new Error(`${service} tasks keep exiting; see ${join(logsDir, `${t[0].id}.log`)}`)
            return t.filter((r) => r.state === 'RUNNING').length >= this.config.services[service].instances
          },
          { timeoutMs: 60_000, intervalMs: 100, signal: abort },
        )
      }
    } catch (err) {
      log.warn(`env up failed: ${(err as Error).message}; tearing down`)
      await this.down(log)
      throw err
    }
  }

  async down(log: Logger): Promise<void> {
    const s = readState(this.stateDir)
    if (s) {
      // supervisor first: it stops its tasks gracefully (they drain), then exits
      const sup = readPid(s.supervisorPidFile)
      if (isAlive(sup)) {
        signal(sup, 'SIGTERM')
        if (!(await waitForExit(sup!, 20_000))) await killHard(sup)
      }
      for (const t of readTasks(s.tasksFile)?.tasks ?? []) if (t.state !== 'STOPPED' && isAlive(t.pid, 'node')) await killHard(t.pid)
      await Promise.all(Object.values(s.nodes).map((n) => terminate(readPid(n.pidFile), 5_000)))
      await Promise.all(Object.values(s.caches).map((c) => terminate(readPid(c.pidFile), 5_000)))
    }
    // any pid file left (e.g. a state.json that was never written completely)
    const pidDir = join(this.stateDir, 'pids')
    if (existsSync(pidDir)) {
      for (const f of readdirSync(pidDir)) {
        const pidFile = join(pidDir, f)
        await killHard(readPid(pidFile))
        removePidFile(pidFile)
      }
    }
    // last sweep: anything still alive that belongs to this environment (e.g. after a supervisor crash)
    for (const pid of processesOf(this.stateDir)) await killHard(pid)
    if (existsSync(this.stateDir)) {
      for (const entry of readdirSync(this.stateDir)) if (entry !== 'logs') rmSync(join(this.stateDir, entry), { recursive: true, force: true })
      log.info(`local environment down (logs kept in ${join(this.stateDir, 'logs')})`)
    }
  }

  async status(): Promise<EnvironmentStatus> {
    const s = readState(this.stateDir)
    if (!s) return { up: false, lines: [{ what: 'environment', state: 'down', detail: this.stateDir }] }
    const lines: EnvironmentStatus['lines'] = []
    for (const cluster of Object.keys(this.config.clusters)) {
      const view = await observeCluster(this, cluster)
      for (const n of view.nodes) {
        const node = s.nodes[n.node]
        const pid = readPid(node.pidFile)
        const proc = !isAlive(pid) ? 'dead' : isStopped(pid!) ? 'paused' : 'running'
        lines.push({
          what: `nats ${cluster}/${n.node} (${node.az})`,
          state: n.healthy ? 'healthy' : proc,
          detail: `pid ${pid ?? '-'} client :${node.clientPort} monitor :${node.httpPort} routes→[${n.routesTo.join(',')}]${view.metaLeader === n.node ? ' meta-leader' : ''}`,
        })
      }
    }
    for (const c of Object.values(s.caches)) {
      const pid = readPid(c.pidFile)
      lines.push({ what: `redis ${c.name}`, state: isAlive(pid) ? 'running' : 'dead', detail: `pid ${pid ?? '-'} :${c.port}` })
    }
    const sup = readPid(s.supervisorPidFile)
    lines.push({ what: 'supervisor', state: isAlive(sup) ? 'running' : 'dead', detail: `pid ${sup ?? '-'}` })
    for (const t of this.taskRecords().filter((r) => r.state !== 'STOPPED')) {
      lines.push({ what: `task ${t.id}`, state: t.state.toLowerCase(), detail: `pid ${t.pid} ${t.az}${t.port ? ` :${t.port}` : ''}` })
    }
    for (const [svc, port] of Object.entries(s.lbPorts)) lines.push({ what: `lb ${svc}`, state: 'listening', detail: `http://127.0.0.1:${port}` })
    return { up: isAlive(sup), lines }
  }
}
