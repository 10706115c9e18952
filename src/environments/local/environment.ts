/**
 * The local environment (the embedded default): a NATS cluster of nats-server processes,
 * redis-server, and the services as tasks of the ECS stand-in in a supervisor daemon — all on
 * loopback, no Docker, no cloud. Assembled from parts: nodes (nodes.ts), tasks (the stand-in's
 * API, ../ecs/task-control.ts), caches (caches.ts), network (network.ts). The state directory
 * is marked as the environment's, and every process it starts is recorded there (state-dir.ts),
 * so `env down`, Ctrl-C or a later session can remove everything it made — and nothing else.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { NATS_TLS, type Capability, type Endpoints, type Environment, type EnvironmentStatus, type Logger, type Topology } from '../../api/environment.ts'
import { GamedayError, TargetError } from '../../api/errors.ts'
import { canConnect } from '../../util/ports.ts'
import { nodeCommand, REPO_ROOT } from '../../util/node-entry.ts'
import { observeCluster } from '../../nats/monitor.ts'
import { topologyOf } from '../topology.ts'
import { taskDefinitions } from '../service-config.ts'
import { awaitServicesReady } from '../ecs/await-ready.ts'
import { TaskApi } from '../ecs/task-control.ts'
import type { TaskDefinition } from '../ecs/definition.ts'
import { waitUnlessFailed } from '../wait.ts'
import type { LocalConfig } from './config.ts'
import { supervisorControl } from './control.ts'
import { localCaches } from './caches.ts'
import { layOut, writeLayout } from './layout.ts'
import { checkCluster } from '../redis-cluster/form.ts'
import { GAMEDAY_IDENTITY } from '../nats-accounts.ts'
import { natsTlsOptions } from '../tls/secure-nats.ts'
import { localNatsTls } from './nats-tls.ts'
import { clusterNodesOf, credentialsOf, reachableNodes } from './redis-clusters.ts'
import { LocalNetwork } from './network.ts'
import { localNodes } from './nodes.ts'
import { isAlive, isStopped, killHard, processesOf, readPid, signal, spawnDetached, terminate, waitForExit } from './processes.ts'
import { checkStateDir, claimStateDir, clearStateDir, liveRecordedProcesses, ownsStateDir, recordedProcesses, recordProcess } from './state-dir.ts'
import { readState, stateFile, writeJsonAtomic, type LocalState } from './state.ts'
import { envUpCommand } from '../locate.ts'

export class LocalEnvironment implements Environment {
  readonly kind = 'local' as const
  readonly stateDir: string

  constructor(
    readonly config: LocalConfig,
    readonly source: string,
  ) {
    const fromEnv = process.env.GAMEDAY_LOCAL_STATE_DIR
    // relative to where gameday runs — the user's project, not wherever the package is installed
    this.stateDir = resolve(fromEnv ?? config.stateDir)
    checkStateDir(this.stateDir, fromEnv ? 'GAMEDAY_LOCAL_STATE_DIR' : `${source}: stateDir`)
    const defs = (this.definitions = taskDefinitions(config.services, source))
    this.tasks = new TaskApi({
      baseUrl: () => `http://127.0.0.1:${this.state().controlPort}`,
      desired: (service) => defs[service]?.instances ?? 0,
      stopBudgetMs: (service, graceMs) => (defs[service]?.deregistrationDelayMs ?? 0) + (graceMs ?? defs[service]?.stopGraceMs ?? 0),
      notAnswering: (err) =>
        new GamedayError(`the local environment's supervisor does not answer (${err.message}): see ${join(this.stateDir, 'logs', 'supervisor.log')}`),
    })
  }

  private state(): LocalState {
    const s = readState(this.stateDir)
    if (!s) throw new GamedayError(`the local environment is not up (no ${stateFile(this.stateDir)}): run \`${envUpCommand(this.source)}\``)
    return s
  }

  topology(): Topology {
    return topologyOf(this.config)
  }

  private readonly natsTls = localNatsTls(() => this.state())

  /** nats-tls when a NATS cluster runs TLS from the environment's CA */
  capability<T>(key: Capability<T>): T | undefined {
    if (key.name === NATS_TLS.name && Object.values(this.config.clusters).some((c) => c.tls)) return this.natsTls as T
    return undefined
  }

  readonly endpoints: Endpoints = {
    natsServers: (cluster) =>
      Object.values(this.state().nodes)
        .filter((n) => n.cluster === cluster)
        .map((n) => `nats://127.0.0.1:${n.clientPort}`),
    // the production shape: TLS, as gameday's own identity (its account imports every service's exports)
    natsOptions: (cluster) => {
      const s = this.state()
      const tls = Object.values(s.nodes).some((n) => n.cluster === cluster && n.tls)
      return tls && s.pki ? natsTlsOptions(s.pki.caFile, s.pki.clients[GAMEDAY_IDENTITY]) : {}
    },
    natsMonitor: (cluster, node) => {
      const n = this.state().nodes[node]
      if (!n || n.cluster !== cluster) throw new TargetError(`no node ${node} in cluster ${cluster}`)
      return `http://127.0.0.1:${n.httpPort}`
    },
    redis: (cache) => {
      const s = this.state()
      const rc = s.redisClusters?.[cache]
      if (rc) {
        // gameday reaches every node at the address it announces (its gate): no NAT map needed
        const nodes = reachableNodes(rc).map((n) => ({ host: n.host, port: n.port }))
        return {
          ...nodes[0],
          ...(rc.password ? { password: rc.password } : {}),
          ...(rc.caFile ? { tls: true, caFile: rc.caFile } : {}),
          cluster: { nodes },
        }
      }
      const c = s.caches[cache]
      if (!c) throw new TargetError(`no cache "${cache}" in ${this.source}`)
      return { host: '127.0.0.1', port: c.port }
    },
    gateway: () => {
      const port = this.state().lbPorts['gateway'] ?? Object.values(this.state().lbPorts)[0]
      if (!port) throw new TargetError(`no HTTP service in ${this.source}`)
      return `http://127.0.0.1:${port}`
    },
  }

  private readonly control = supervisorControl(() => this.state())
  readonly nodes = localNodes(() => this.state(), this.control)
  readonly caches = localCaches(() => this.state(), this.control)
  readonly network = new LocalNetwork(
    () => this.state(),
    () => this.topology(),
  )
  private readonly definitions: Record<string, TaskDefinition>
  readonly tasks: TaskApi

  /** the fault proxy's admin URL (Toxiproxy API) while the environment is up */
  proxyUrl(): string {
    return this.state().proxy.url
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
    // a folder of ours (marked), or a new or empty one made ours; anything else is refused before anything starts
    claimStateDir(this.stateDir, this.source)
    if (existsSync(stateFile(this.stateDir)) || recordedProcesses(this.stateDir).length) await this.down(log) // leftovers of a crashed run
    const state = await layOut(this.config, this.stateDir, this.definitions)
    // state first: if anything below fails, `down` finds everything
    writeJsonAtomic(stateFile(this.stateDir), state)
    try {
      // the folders, the private CA and the nodes' configurations; then the state with their paths
      await writeLayout(state, this.config)
      writeJsonAtomic(stateFile(this.stateDir), state)
      // the supervisor starts (and owns) every process: NATS nodes, Redis, then the services
      const { command, args } = nodeCommand('src/environments/local/supervisor.ts')
      const supervisorLog = join(state.logsDir, 'supervisor.log')
      const supervisor = spawnDetached({ command, args: [...args, this.stateDir], logFile: supervisorLog, pidFile: state.supervisorPidFile, cwd: REPO_ROOT })
      recordProcess(this.stateDir, supervisor, [command, ...args, this.stateDir])
      const stillUp = () => {
        if (!isAlive(readPid(state.supervisorPidFile))) throw new GamedayError(`the supervisor exited; see ${supervisorLog}`)
      }
      const clusterNodes = clusterNodesOf(state).length
      log.info(
        `starting ${Object.keys(state.nodes).length} nats-server nodes${Object.values(this.config.clusters).some((c) => c.tls) ? ' (TLS)' : ''} and ${Object.keys(state.caches).length + clusterNodes} redis-server${clusterNodes ? ` (${Object.keys(state.redisClusters).length} Redis Cluster of ${clusterNodes} nodes)` : ''}`,
      )
      for (const cluster of Object.keys(this.config.clusters)) {
        await waitUnlessFailed(
          `cluster ${cluster} to form with a JetStream meta leader`,
          async () => {
            stillUp()
            for (const n of Object.values(state.nodes)) {
              const pid = readPid(n.pidFile)
              if (pid && !isAlive(pid)) throw new GamedayError(`nats-server ${n.name} exited; see ${n.logFile}`)
            }
            return (await observeCluster(this, cluster)).healthy
          },
          { timeoutMs: 60_000, intervalMs: 100, signal: abort },
        )
      }
      for (const c of Object.values(state.caches)) {
        await waitUnlessFailed(`redis ${c.name}`, async () => canConnect(c.port, '127.0.0.1', 500), { timeoutMs: 10_000, intervalMs: 50, signal: abort })
      }
      // the supervisor forms each Redis Cluster; whole means every slot served, every replica in sync
      for (const rc of Object.values(state.redisClusters)) {
        let problems: string[] = []
        await waitUnlessFailed(
          `Redis Cluster ${rc.name} to be formed and whole`,
          async () => {
            stillUp()
            for (const { node } of clusterNodesOf(state).filter((x) => x.rc === rc)) {
              const pid = readPid(node.pidFile)
              if (pid && !isAlive(pid)) throw new GamedayError(`redis-server ${node.name} exited; see ${node.logFile}`)
            }
            problems = (await checkCluster(reachableNodes(rc), credentialsOf(rc))).problems
            return problems.length === 0
          },
          { timeoutMs: 45_000, intervalMs: 200, signal: abort },
        ).catch((err: Error) => {
          throw new GamedayError(`${err.message}${problems.length ? ` (${problems.slice(0, 3).join('; ')})` : ''}; see ${supervisorLog}`)
        })
      }
      const services = Object.values(this.definitions)
      if (services.length) log.info(`starting services: ${services.map((s) => `${s.service}×${s.instances}`).join(', ')}`)
      await awaitServicesReady(() => this.tasks.records(), this.definitions, {
        whereLogs: (t) => join(state.logsDir, `${t.id}.log`),
        stillUp,
        signal: abort,
      })
    } catch (err) {
      log.warn(`env up failed: ${(err as Error).message}; tearing down`)
      await this.down(log)
      throw err
    }
  }

  /**
   * Stops everything this environment started — the processes its ledger recorded, still running
   * as recorded — and deletes what `up` created in the state directory (the logs stay). A folder
   * without the environment's marker is refused, untouched.
   */
  async down(log: Logger): Promise<void> {
    if (!ownsStateDir(this.stateDir)) return
    const ours = () => liveRecordedProcesses(this.stateDir).map((p) => p.pid)
    const s = readState(this.stateDir)
    if (s) {
      // supervisor first: it stops its tasks gracefully (they drain), then the servers, then exits
      const sup = readPid(s.supervisorPidFile)
      if (sup && ours().includes(sup)) {
        signal(sup, 'SIGTERM')
        if (!(await waitForExit(sup, 20_000))) await killHard(sup)
      }
      const servers = [...Object.values(s.nodes), ...Object.values(s.caches), ...clusterNodesOf(s).map((x) => x.node)]
        .map((x) => readPid(x.pidFile))
        .filter((pid) => pid && ours().includes(pid))
      await Promise.all(servers.map((pid) => terminate(pid, 5_000)))
    }
    // whatever it started that still runs (after a supervisor crash, a half-done up)
    for (const pid of ours()) await killHard(pid)
    const strays = processesOf(this.stateDir)
    if (strays.length) log.warn(`processes ${strays.join(', ')} name ${this.stateDir} but were not started by this environment: left alone`)
    clearStateDir(this.stateDir)
    log.info(`local environment down (logs kept in ${join(this.stateDir, 'logs')})`)
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
    for (const rc of Object.values(s.redisClusters ?? {})) {
      // no node answers: the lines below say dead or running, without a role
      const shards = await this.caches.shards!(rc.name).catch(() => undefined)
      for (const n of Object.values(rc.nodes)) {
        const pid = readPid(n.pidFile)
        const shard = shards?.find((x) => x.shard === n.shard)
        const role = shard?.primary?.name === n.name ? 'primary' : shard?.replicas.some((r) => r.name === n.name) ? 'replica' : undefined
        lines.push({
          what: `redis ${rc.name}/${n.name} (${n.az})`,
          state: isAlive(pid) ? (role ?? 'running') : 'dead',
          detail: `pid ${pid ?? '-'} shard ${n.shard} :${n.announcePort} (${n.bindHost}:${n.realPort})${rc.config.tls ? ' tls' : ''}${rc.password ? ' auth' : ''}`,
        })
      }
    }
    const sup = readPid(s.supervisorPidFile)
    lines.push({ what: 'supervisor', state: isAlive(sup) ? 'running' : 'dead', detail: `pid ${sup ?? '-'}` })
    try {
      for (const t of (await this.tasks.records()).filter((r) => r.state !== 'STOPPED'))
        lines.push({ what: `task ${t.id}`, state: t.state.toLowerCase(), detail: `pid ${t.pid ?? '-'} ${t.az}${t.port ? ` :${t.port}` : ''}` })
    } catch (err) {
      lines.push({ what: 'tasks', state: 'unknown', detail: (err as Error).message })
    }
    for (const [svc, port] of Object.entries(s.lbPorts)) lines.push({ what: `lb ${svc}`, state: 'listening', detail: `http://127.0.0.1:${port}` })
    return { up: isAlive(sup), lines }
  }
}
