/**
 * The containers environment (CI): the local environment's topology as containers on one Docker
 * network, built with testcontainers — a NATS cluster with JetStream over AZs, Redis, and the
 * services as tasks of the ECS stand-in (a task is a container), run by the environment's
 * controller (controller.ts, itself a container). Assembled from parts: nodes (nodes.ts), tasks
 * (the stand-in's API, ../ecs/task-control.ts), caches (caches.ts), network (network.ts).
 *
 * Nothing is kept on the host: every container and the network carry gameday.env=<id> and their
 * published host ports as labels (discovery.ts), so `isUp()`, `status()` and `down()` work from
 * any process, also after the one that ran `up()` crashed. Published ports bind 127.0.0.1 at
 * fixed host ports, so a node stopped and started keeps its endpoints.
 */
import { NATS_TLS, type Capability, type Endpoints, type Environment, type EnvironmentStatus, type Logger, type Topology } from '../../api/environment.ts'
import { GamedayError, TargetError } from '../../api/errors.ts'
import { observeCluster } from '../../nats/monitor.ts'
import { topologyOf } from '../topology.ts'
import { taskDefinitions } from '../service-config.ts'
import type { TaskDefinition } from '../ecs/definition.ts'
import { awaitServicesReady } from '../ecs/await-ready.ts'
import { TaskApi } from '../ecs/task-control.ts'
import type { TaskRecord } from '../ecs/task.ts'
import { waitUnlessFailed } from '../wait.ts'
import type { ContainersConfig } from './config.ts'
import { EnvironmentContainers } from './discovery.ts'
import { LABEL, removeLabelled } from './docker.ts'
import { resolveImages } from './images.ts'
import { startContainers } from './bring-up.ts'
import { containerNodes } from './nodes.ts'
import { containerCaches } from './caches.ts'
import { ContainersNetwork, planCacheLinks } from './network.ts'
import { rulesIn } from './partition.ts'
import { clusterCaches } from '../redis-config.ts'
import { checkCluster } from '../redis-cluster/form.ts'
import { GAMEDAY_IDENTITY } from '../nats-accounts.ts'
import { natsTlsOptions } from '../tls/secure-nats.ts'
import { needsHostState, readSecureState, removeHostState } from './host-state.ts'
import { containerNatsTls } from './nats-tls.ts'
import { clusterRuntimes, plannedNodes } from './redis-clusters.ts'
import { azsOf, makeSecureState } from './secure-layout.ts'
import { PORTS } from './builder.ts'
import { envUpCommand } from '../locate.ts'

export { planCacheLinks }

export class ContainersEnvironment implements Environment {
  readonly kind = 'containers' as const
  readonly envId: string
  readonly networkName: string
  private readonly containers: EnvironmentContainers
  private readonly definitions: Record<string, TaskDefinition>
  readonly tasks: TaskApi
  readonly network: ContainersNetwork
  readonly nodes: Environment['nodes']
  readonly caches: NonNullable<Environment['caches']>

  constructor(
    readonly config: ContainersConfig,
    readonly source: string,
    opts: { envId?: string } = {},
  ) {
    this.containers = new EnvironmentContainers(opts.envId ?? process.env.GAMEDAY_CONTAINERS_ENV ?? config.name, envUpCommand(source))
    this.envId = this.containers.envId
    this.networkName = this.containers.networkName
    const defs = (this.definitions = taskDefinitions(config.services, source))
    this.nodes = containerNodes(this.containers, config, this.endpoints)
    this.caches = containerCaches(this.containers, config, source, this.endpoints)
    this.network = new ContainersNetwork(this.containers, config, source, () => this.topology())
    this.tasks = new TaskApi({
      baseUrl: () => {
        const controller = this.containers.discovered().controller
        if (!controller) throw new GamedayError(`the containers environment ${this.envId} has no controller: run \`${envUpCommand(this.source)}\``)
        return `http://127.0.0.1:${controller.controlPort}`
      },
      desired: (service) => defs[service]?.instances ?? 0,
      stopBudgetMs: (service, graceMs) => (defs[service]?.deregistrationDelayMs ?? 0) + (graceMs ?? defs[service]?.stopGraceMs ?? 0),
      notAnswering: (err) =>
        new GamedayError(
          `the controller of ${this.envId} does not answer (${err.message}): see \`docker logs ${this.containers.discovered().controller?.container}\``,
        ),
    })
  }

  topology(): Topology {
    return topologyOf(this.config)
  }

  /** nats-tls when a NATS cluster runs TLS from the environment's CA */
  capability<T>(key: Capability<T>): T | undefined {
    if (key.name === NATS_TLS.name && Object.values(this.config.clusters).some((c) => c.tls)) return containerNatsTls(this.containers) as T
    return undefined
  }

  readonly endpoints: Endpoints = {
    natsServers: (cluster) =>
      (this.config.clusters[cluster]?.nodes ?? [])
        .map((n) => this.containers.discovered().nodes[n.name])
        .filter(Boolean)
        .map((n) => `nats://127.0.0.1:${n.clientPort}`),
    // the production shape: TLS, as gameday's own identity (its account imports every service's exports)
    natsOptions: (cluster) => {
      const secure = this.config.clusters[cluster]?.tls ? readSecureState(this.envId) : undefined
      return secure?.pki ? natsTlsOptions(secure.pki.caFile, secure.pki.clients[GAMEDAY_IDENTITY]) : {}
    },
    natsMonitor: (cluster, node) => {
      const n = this.containers.discovered().nodes[node]
      if (!n || n.cluster !== cluster) throw new TargetError(`no node ${node} in cluster ${cluster}`)
      return `http://127.0.0.1:${n.monitorPort}`
    },
    redis: (cache) => {
      const rc = clusterCaches(this.config.caches)[cache]
      if (rc) {
        // every node at its published port; the NAT map rewrites the name each one announces to it
        const secure = readSecureState(this.envId)?.redis[cache]
        const published = this.containers.discovered().clusterNodes[cache] ?? {}
        const nodes = plannedNodes(cache, rc, azsOf(this.config)).map((n) => ({ name: n.name, host: '127.0.0.1', port: published[n.name]?.port ?? 0 }))
        return {
          host: '127.0.0.1',
          port: nodes[0].port,
          ...(secure?.password ? { password: secure.password } : {}),
          ...(secure?.caFile ? { tls: true, caFile: secure.caFile } : {}),
          cluster: {
            nodes: nodes.map((n) => ({ host: n.host, port: n.port })),
            natMap: Object.fromEntries(nodes.map((n) => [`${n.name}:${PORTS.redis}`, { host: n.host, port: n.port }])),
          },
        }
      }
      const c = this.containers.discovered().caches[cache]
      if (!c) throw new TargetError(`no cache "${cache}" in ${this.source}`)
      return { host: '127.0.0.1', port: c.port }
    },
    gateway: () => {
      const lb = this.containers.discovered().controller?.lbPorts ?? {}
      const port = lb['gateway'] ?? Object.values(lb)[0]
      if (!port) throw new TargetError(`no HTTP service in ${this.source}`)
      return `http://127.0.0.1:${port}`
    },
  }

  /** Every task the controller remembers, stopped ones included. */
  taskRecords(): Promise<TaskRecord[]> {
    return this.tasks.records()
  }

  /** The fault proxy's admin API (Toxiproxy's), as this host reaches it. */
  proxyUrl(): string {
    return this.network.proxyUrl()
  }

  /** The DROP rules in force in a node's or task's namespace (evidence, tests). */
  async dropRules(short: string): Promise<string[]> {
    return rulesIn(await this.containers.docker(), this.networkName, this.containers.name(short))
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async isUp(): Promise<boolean> {
    const d = await this.containers.discover()
    const nodes = Object.values(this.config.clusters).reduce((n, c) => n + c.nodes.length, 0)
    return d.controller?.state === 'running' && Object.keys(d.nodes).length === nodes
  }

  async up(log: Logger, abort?: AbortSignal): Promise<void> {
    if (await this.isUp()) {
      log.info(`containers environment ${this.envId} already up`)
      return
    }
    await this.down(log) // leftovers of a crashed run, if any
    const { images, pulls } = await resolveImages(await this.containers.docker(), this.config)
    if (pulls.length) log.info(`pulling ${pulls.join(', ')} (a host that cannot pull builds local images instead: npm run images)`)
    try {
      // the production shape: the CA, certificates and passwords first, in the environment's folder on the host
      const linkHost = process.env.TOXIPROXY_URL ? new URL(process.env.TOXIPROXY_URL).hostname : 'controller'
      const secure = needsHostState(this.config)
        ? await makeSecureState(this.envId, this.source, this.config, Object.keys(this.definitions), linkHost)
        : undefined
      await startContainers(this.containers, this.config, this.definitions, images, log, secure)
      await this.containers.discover()
      for (const cluster of Object.keys(this.config.clusters)) {
        await waitUnlessFailed(
          `cluster ${cluster} to form with a JetStream meta leader`,
          async () => {
            const d = await this.containers.discover()
            for (const n of Object.values(d.nodes))
              if (n.state !== 'running') throw new GamedayError(`NATS node container ${n.container} is ${n.state}: see \`docker logs ${n.container}\``)
            return (await observeCluster(this, cluster)).healthy
          },
          { timeoutMs: 60_000, intervalMs: 200, signal: abort },
        )
      }
      // the controller forms each Redis Cluster; whole means every slot served, every replica in sync
      for (const [cache, rc] of Object.entries(clusterRuntimes(this.containers, this.config))) {
        let problems: string[] = []
        await waitUnlessFailed(
          `Redis Cluster ${cache} to be formed and whole`,
          async () => {
            problems = (await checkCluster(rc.nodes, rc.creds)).problems
            return problems.length === 0
          },
          { timeoutMs: 60_000, intervalMs: 250, signal: abort },
        ).catch((err: Error) => {
          throw new GamedayError(
            `${err.message}${problems.length ? ` (${problems.slice(0, 3).join('; ')})` : ''}; see \`docker logs ${this.containers.name('controller')}\``,
          )
        })
      }
      const services = Object.values(this.definitions)
      if (services.length) log.info(`starting services: ${services.map((s) => `${s.service}×${s.instances}`).join(', ')}`)
      await awaitServicesReady(() => this.tasks.records(), this.definitions, {
        whereLogs: (t) => `docker logs ${t.container ?? this.containers.name(t.id)}`,
        signal: abort,
      })
    } catch (err) {
      log.warn(`env up failed: ${(err as Error).message}; removing what was started`)
      await this.down(log)
      if (pulls.length && /pull|registry|manifest|no such image/i.test(String((err as Error).message))) {
        throw new GamedayError(
          `${(err as Error).message}\n(could not get ${pulls.join(', ')}: on a host that cannot pull, build local images with \`npm run images\`)`,
        )
      }
      throw err
    }
  }

  async down(log: Logger): Promise<void> {
    const docker = await this.containers.docker()
    const removed = await removeLabelled(docker, (l) => l[LABEL.env] === this.envId, { graceful: true })
    this.containers.forget()
    removeHostState(this.envId)
    if (removed.containers.length || removed.networks.length) {
      log.info(`containers environment ${this.envId} down (${removed.containers.length} containers, ${removed.networks.length} network removed)`)
    }
  }

  async status(): Promise<EnvironmentStatus> {
    const d = await this.containers.discover()
    if (!Object.keys(d.nodes).length && !d.controller)
      return { up: false, lines: [{ what: 'environment', state: 'down', detail: `no container labelled ${LABEL.env}=${this.envId}` }] }
    const lines: EnvironmentStatus['lines'] = []
    for (const cluster of Object.keys(this.config.clusters)) {
      const view = await observeCluster(this, cluster)
      for (const n of view.nodes) {
        const node = d.nodes[n.node]
        if (!node) {
          lines.push({ what: `nats ${cluster}/${n.node}`, state: 'missing' })
          continue
        }
        lines.push({
          what: `nats ${cluster}/${n.node} (${node.az})`,
          state: n.healthy ? 'healthy' : node.state,
          detail: `${node.container} client :${node.clientPort} monitor :${node.monitorPort} routes→[${n.routesTo.join(',')}]${view.metaLeader === n.node ? ' meta-leader' : ''}`,
        })
      }
    }
    for (const [name, c] of Object.entries(d.caches)) lines.push({ what: `redis ${name}`, state: c.state, detail: `${c.container} :${c.port}` })
    for (const [cache, nodes] of Object.entries(d.clusterNodes)) {
      // no node answers: the lines below say the containers' states, without a role
      const shards = await this.caches.shards!(cache).catch(() => undefined)
      for (const [name, n] of Object.entries(nodes).sort(([a], [b]) => a.localeCompare(b))) {
        const shard = shards?.find((s) => s.primary?.name === name || s.replicas.some((r) => r.name === name))
        const role = shard?.primary?.name === name ? 'primary' : shard ? 'replica' : undefined
        lines.push({
          what: `redis ${cache}/${name} (${n.az})`,
          state: n.state === 'running' ? (role ?? n.state) : n.state,
          detail: `${n.container} :${n.port}`,
        })
      }
    }
    lines.push({
      what: 'controller',
      state: d.controller?.state ?? 'missing',
      detail: d.controller ? `${d.controller.container} :${d.controller.controlPort}` : undefined,
    })
    if (d.controller?.proxyUrl) {
      const links = planCacheLinks(this.config).map((l) => l.name)
      lines.push({ what: 'fault proxy', state: d.controller.state, detail: `${d.controller.proxyUrl} (${links.join(', ') || 'no cache links'})` })
    }
    try {
      for (const t of (await this.tasks.records()).filter((r) => r.state !== 'STOPPED'))
        lines.push({ what: `task ${t.id}`, state: t.state.toLowerCase(), detail: `${t.container} ${t.az}${t.host ? ` ${t.host}` : ''}` })
    } catch (err) {
      lines.push({ what: 'tasks', state: 'unknown', detail: (err as Error).message })
    }
    for (const [svc, port] of Object.entries(d.controller?.lbPorts ?? {}))
      lines.push({ what: `lb ${svc}`, state: 'listening', detail: `http://127.0.0.1:${port}` })
    return { up: d.controller?.state === 'running', lines }
  }
}
