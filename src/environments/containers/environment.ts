/**
 * The containers environment (CI): the local environment's topology as containers on one Docker
 * network, built with testcontainers — a NATS cluster with JetStream over AZs, Redis, and the
 * target's services as tasks (a task is a container) kept at their desired count, behind a load
 * balancer, by the environment's controller (controller.ts, itself a container).
 *
 * Nothing is kept on the host: every container and the network carry gameday.env=<id>, and
 * their published host ports are labels too, so `isUp()`, `status()` and `down()` work from any
 * process, also after the one that ran `up()` crashed. Published ports bind 127.0.0.1 at fixed
 * host ports, so a node stopped and started keeps its endpoints.
 */
import { describeNodeAction, topologyOf } from '../topology.ts'
import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'
import type Dockerode from 'dockerode'
import type { ContainerInfo } from 'dockerode'
import type {
  Capability,
  ControlContext,
  Endpoints,
  Environment,
  EnvironmentStatus,
  Logger,
  NetworkControl,
  NodeControl,
  NodeInfo,
  PartitionSpec,
  TaskControl,
  TaskInfo,
  Topology,
} from '../../api/environment.ts'
import type { Json } from '../../api/fault.ts'
import { GamedayError, TargetError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import { freePorts } from '../../util/ports.ts'
import { REPO_ROOT } from '../../util/node-entry.ts'
import { fetchJson, observeCluster } from '../../nats/monitor.ts'
import { natsServerConfig } from '../nats-config.ts'
import { redisPersistenceArgs } from '../redis-config.ts'
import { cacheLink, CacheLinks } from '../fault-proxy.ts'
import { OFFICIAL_IMAGES, type ContainersConfig, type ImageName } from './config.ts'
import { baseLabels, dockerClient, ignoreGone, LABEL, listContainers, removeLabelled } from './docker.ts'
import { PORTS, startContainer } from './builder.ts'
import { cut, describeCut, heal, rulesIn, sever, type Member, type PartitionState } from './partition.ts'
import { CONTROLLER_ENV, CONTROLLER_READY, containerName, type CacheLinkSpec, type ControllerSpec, type TaskRecord, type TasksResponse } from './protocol.ts'

/** What the labels of the environment's containers say: enough for every endpoint. */
interface Discovery {
  nodes: Record<string, { container: string; cluster: string; az: string; clientPort: number; monitorPort: number; state: string }>
  caches: Record<string, { container: string; port: number; state: string }>
  controller?: { container: string; controlPort: number; lbPorts: Record<string, number>; proxyUrl?: string; state: string }
  tasks: { container: string; service: string; id: string; az: string; state: string }[]
}

const EMPTY: Discovery = { nodes: {}, caches: {}, tasks: [] }

function discoveryFrom(containers: { name: string; state: string; labels: Record<string, string> }[]): Discovery {
  const d: Discovery = { nodes: {}, caches: {}, tasks: [] }
  for (const c of containers) {
    const l = c.labels
    switch (l[LABEL.role]) {
      case 'nats':
        d.nodes[l[LABEL.node]] = {
          container: c.name,
          cluster: l[LABEL.cluster],
          az: l[LABEL.az],
          clientPort: Number(l[LABEL.portClient]),
          monitorPort: Number(l[LABEL.portMonitor]),
          state: c.state,
        }
        break
      case 'redis':
        d.caches[l[LABEL.cache]] = { container: c.name, port: Number(l[LABEL.portRedis]), state: c.state }
        break
      case 'controller': {
        const lbPorts: Record<string, number> = {}
        for (const [k, v] of Object.entries(l)) if (k.startsWith(LABEL.portLbPrefix)) lbPorts[k.slice(LABEL.portLbPrefix.length)] = Number(v)
        d.controller = { container: c.name, controlPort: Number(l[LABEL.portControl]), lbPorts, proxyUrl: l[LABEL.proxyUrl], state: c.state }
        break
      }
      case 'task':
        d.tasks.push({ container: c.name, service: l[LABEL.service], id: l[LABEL.task], az: l[LABEL.az], state: c.state })
        break
    }
  }
  return d
}

/** Redis answers PING (a published port accepts connections before the server behind it does). */
function redisPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => {
      reply += d
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.once('error', () => done(false))
    socket.once('close', () => done(false))
  })
}

/** One proxy per (service, cache), in config order, each at its own port of the fault proxy. */
export function planCacheLinks(config: ContainersConfig): CacheLinkSpec[] {
  const links: CacheLinkSpec[] = []
  for (const [service, s] of Object.entries(config.services)) {
    for (const cache of s.caches) {
      if (!config.caches[cache]) throw new GamedayError(`service ${service} uses unknown cache ${cache}`)
      links.push({
        name: cacheLink(service, cache),
        kind: 'cache',
        from: service,
        to: cache,
        listenPort: PORTS.cacheLinkBase + links.length,
        upstream: `${cache}:${PORTS.redis}`,
      })
    }
  }
  return links
}

const nameOf = (c: ContainerInfo) => c.Names?.[0]?.replace(/^\//, '') ?? c.Id

export class ContainersEnvironment implements Environment {
  readonly kind = 'containers' as const
  readonly envId: string
  readonly networkName: string
  private found: Discovery | undefined
  private dockerPromise: Promise<{ docker: Dockerode; socketPath: string }> | undefined

  constructor(
    readonly config: ContainersConfig,
    readonly source: string,
    opts: { envId?: string } = {},
  ) {
    this.envId = opts.envId ?? process.env.GAMEDAY_CONTAINERS_ENV ?? config.name
    if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(this.envId)) throw new GamedayError(`invalid containers environment id ${JSON.stringify(this.envId)} (a-z, 0-9, -)`)
    this.networkName = containerName(this.envId, 'net')
  }

  private async docker(): Promise<Dockerode> {
    this.dockerPromise ??= dockerClient().catch((err) => {
      this.dockerPromise = undefined
      throw new GamedayError(`the containers environment needs a Docker engine: ${(err as Error).message} (on Debian as root: scripts/ensure-docker.sh)`)
    })
    return (await this.dockerPromise).docker
  }

  private name(short: string): string {
    return containerName(this.envId, short)
  }

  /** Reads the environment's containers by label (and remembers them for the synchronous endpoints). */
  async discover(): Promise<Discovery> {
    const docker = await this.docker()
    const containers = await listContainers(docker, { [LABEL.env]: this.envId })
    this.found = discoveryFrom(containers.map((c) => ({ name: nameOf(c), state: c.State, labels: c.Labels ?? {} })))
    return this.found
  }

  /** Endpoints are synchronous: a process that did not discover yet asks the docker CLI once. */
  private discovered(): Discovery {
    if (this.found && Object.keys(this.found.nodes).length) return this.found
    try {
      const out = execFileSync(
        'docker',
        ['ps', '-a', '--no-trunc', '--filter', `label=${LABEL.env}=${this.envId}`, '--format', '{{.Names}}\t{{.State}}\t{{.Labels}}'],
        {
          encoding: 'utf8',
          timeout: 10_000,
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      )
      const rows = out
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [name, state, labels] = line.split('\t')
          return {
            name,
            state,
            labels: Object.fromEntries((labels ?? '').split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
          }
        })
      this.found = discoveryFrom(rows)
    } catch {
      this.found = EMPTY
    }
    if (!Object.keys(this.found.nodes).length)
      throw new GamedayError(`the containers environment ${this.envId} is not up: run \`gameday env up --env containers\``)
    return this.found
  }

  topology(): Topology {
    return topologyOf(this.config)
  }

  /** no capability beyond the common parts */
  capability<T>(_key: Capability<T>): T | undefined {
    return undefined
  }

  // ---- endpoints -------------------------------------------------------------------------

  readonly endpoints: Endpoints = {
    natsServers: (cluster) =>
      (this.config.clusters[cluster]?.nodes ?? [])
        .map((n) => this.discovered().nodes[n.name])
        .filter(Boolean)
        .map((n) => `nats://127.0.0.1:${n.clientPort}`),
    natsMonitor: (cluster, node) => {
      const n = this.discovered().nodes[node]
      if (!n || n.cluster !== cluster) throw new TargetError(`no node ${node} in cluster ${cluster}`)
      return `http://127.0.0.1:${n.monitorPort}`
    },
    redis: (cache) => {
      const c = this.discovered().caches[cache]
      if (!c) throw new TargetError(`no cache "${cache}" in ${this.source}`)
      return { host: '127.0.0.1', port: c.port }
    },
    gateway: () => {
      const lb = this.discovered().controller?.lbPorts ?? {}
      const port = lb['gateway'] ?? Object.values(lb)[0]
      if (!port) throw new TargetError(`no HTTP service in ${this.source}`)
      return `http://127.0.0.1:${port}`
    },
  }

  // ---- nodes -----------------------------------------------------------------------------

  private async nodeContainer(node: NodeInfo): Promise<Dockerode.Container> {
    if (!this.config.clusters[node.cluster]?.nodes.some((n) => n.name === node.name)) throw new TargetError(`no node ${node.name} in cluster ${node.cluster}`)
    return (await this.docker()).getContainer(this.name(node.name))
  }

  private async answers(node: NodeInfo): Promise<boolean> {
    try {
      await fetchJson(`${this.endpoints.natsMonitor(node.cluster, node.name)}/varz`, 1000)
      return true
    } catch {
      return false
    }
  }

  readonly nodes: NodeControl = {
    describe: describeNodeAction,
    kill: async (node) => {
      await ignoreGone((await this.nodeContainer(node)).kill())
    },
    stop: async (node) => {
      await ignoreGone((await this.nodeContainer(node)).stop({ t: 30 }))
    },
    start: async (node) => {
      const c = await this.nodeContainer(node)
      const info = await c.inspect()
      if (info.State.Paused) await ignoreGone(c.unpause())
      if (!info.State.Running) await ignoreGone(c.start())
      // the same container: same store (its writable layer), same host ports
      await waitFor(`node ${node.name} to answer`, () => this.answers(node), { timeoutMs: 20_000, intervalMs: 100 })
    },
    pause: async (node) => {
      await ignoreGone((await this.nodeContainer(node)).pause())
    },
    resume: async (node) => {
      const c = await this.nodeContainer(node)
      const info = await ignoreGone(c.inspect())
      if (info?.State.Paused) await ignoreGone(c.unpause())
    },
    lameDuck: async (node) => {
      await ignoreGone((await this.nodeContainer(node)).kill({ signal: 'SIGUSR2' }))
    },
    isRunning: async (node) => {
      const info = await ignoreGone((await this.nodeContainer(node)).inspect())
      return info?.State.Running ?? false
    },
  }

  // ---- tasks -----------------------------------------------------------------------------

  /** The controller's view of every task (stopped ones included). */
  async taskRecords(): Promise<TaskRecord[]> {
    const controller = this.discovered().controller
    if (!controller) throw new GamedayError(`the containers environment ${this.envId} has no controller: run \`gameday env up --env containers\``)
    try {
      return (await fetchJson<TasksResponse>(`http://127.0.0.1:${controller.controlPort}/tasks`, 5000)).tasks
    } catch (err) {
      throw new GamedayError(`the controller of ${this.envId} does not answer (${(err as Error).message}): see \`docker logs ${controller.container}\``)
    }
  }

  private async taskContainer(task: TaskInfo): Promise<Dockerode.Container | undefined> {
    const rec = (await this.taskRecords()).find((t) => t.id === task.id)
    return rec ? (await this.docker()).getContainer(rec.container) : undefined
  }

  readonly tasks: TaskControl = {
    list: async (service) =>
      (await this.taskRecords())
        .filter((t) => t.service === service && t.state !== 'STOPPED')
        .map((t): TaskInfo => ({ service: t.service, id: t.id, az: t.az, state: t.state, startedAt: t.startedAt })),
    stop: async (task, opts) => {
      const c = await this.taskContainer(task)
      // docker stop: SIGTERM (through docker-init to the task), SIGKILL after the grace
      if (c) await ignoreGone(c.stop({ t: Math.max(1, Math.ceil((opts?.graceMs ?? 10_000) / 1000)) }))
    },
    kill: async (task) => {
      const c = await this.taskContainer(task)
      if (c) await ignoreGone(c.kill())
    },
    history: async (service) => (await this.taskRecords()).filter((t) => t.service === service).map(({ container: _c, ip: _ip, ...t }) => t),
    waitForDesired: async (service, timeoutMs, signal) => {
      const desired = this.config.services[service]?.instances ?? 0
      await waitFor(
        `${service} to run ${desired} ready tasks`,
        async () => (await this.taskRecords()).filter((t) => t.service === service && t.state === 'RUNNING').length >= desired,
        { timeoutMs, intervalMs: 200, signal },
      )
    },
  }

  // ---- caches ----------------------------------------------------------------------------

  private async cacheContainer(cache: string): Promise<Dockerode.Container> {
    if (!this.config.caches[cache]) throw new TargetError(`no cache "${cache}" in ${this.source}`)
    return (await this.docker()).getContainer(this.name(cache))
  }

  readonly caches = {
    kill: async (cache: string) => {
      await ignoreGone((await this.cacheContainer(cache)).kill())
    },
    start: async (cache: string) => {
      const c = await this.cacheContainer(cache)
      const info = await c.inspect()
      if (!info.State.Running) await ignoreGone(c.start())
      const { host, port } = this.endpoints.redis(cache)
      await waitFor(`redis ${cache} to answer`, () => redisPing(host, port), { timeoutMs: 10_000, intervalMs: 100 })
    },
    isRunning: async (cache: string) => (await ignoreGone((await this.cacheContainer(cache)).inspect()))?.State.Running ?? false,
  }

  // ---- network ---------------------------------------------------------------------------

  /**
   * Who is on which side of a cut: the nodes of each group; and when the cut is by AZ, also the
   * tasks of an AZ whose nodes all sit on one side (a real AZ partition cuts every instance in
   * it). The controller (the load balancer, cross-AZ like an ALB; the fault proxy every Redis
   * link goes through) and the host (the observer) are on no side: as on the local environment,
   * a partition cuts NATS routes and client paths, not the services' links to Redis.
   */
  async partitionMembers(spec: PartitionSpec): Promise<Member[]> {
    const cluster = this.config.clusters[spec.cluster]
    if (!cluster) throw new TargetError(`no cluster "${spec.cluster}" in ${this.source}`)
    const members: Member[] = []
    const groupOfNode = new Map<string, number>()
    spec.groups.forEach((g, i) => g.forEach((n) => groupOfNode.set(n, i)))
    for (const [name, group] of groupOfNode) {
      if (!cluster.nodes.some((n) => n.name === name)) throw new TargetError(`no node ${name} in cluster ${spec.cluster}`)
      members.push({ container: this.name(name), label: name, group })
    }
    if (spec.azs?.length) {
      const groupOfAz = new Map<string, number | undefined>()
      for (const n of cluster.nodes) {
        const g = groupOfNode.get(n.name)
        if (g === undefined) continue
        groupOfAz.set(n.az, groupOfAz.has(n.az) && groupOfAz.get(n.az) !== g ? undefined : g)
      }
      const d = await this.discover()
      for (const t of d.tasks) {
        const g = groupOfAz.get(t.az)
        if (g !== undefined && t.state === 'running') members.push({ container: t.container, label: t.id, group: g })
      }
    }
    return members
  }

  readonly network: NetworkControl = {
    partition: async (spec: PartitionSpec, ctx: ControlContext): Promise<Json> => {
      const members = await this.partitionMembers(spec)
      for (const line of describeCut(spec, members)) ctx.log.info(`  ${line}`)
      return (await cut(await this.docker(), this.networkName, spec, members)) as unknown as Json
    },
    severConnections: async (state: Json) => {
      await sever(await this.docker(), this.networkName, state as unknown as PartitionState)
    },
    heal: async (state: Json) => {
      await heal(await this.docker(), this.networkName, state as unknown as PartitionState)
    },
    describePartition: (spec) => {
      const members = spec.groups.flatMap((g, i) => g.map((n) => ({ container: this.name(n), label: n, group: i })))
      const lines = describeCut(spec, members)
      return spec.azs?.length ? lines.map((l) => `${l}; with the tasks of ${spec.azs!.join(', ')} on their side`) : lines
    },
    degradeCache: (spec, ctx) => this.cacheLinks.degradeCache(spec, ctx),
    restoreCache: (state, ctx) => this.cacheLinks.restoreCache(state, ctx),
    describeCacheDegradation: (spec) => this.cacheLinks.describeCacheDegradation(spec),
  }

  /** The services' Redis links through the controller's fault proxy, as on the local environment. */
  private readonly cacheLinks = new CacheLinks(
    () => this.proxyUrl(),
    () => planCacheLinks(this.config),
    () => this.topology(),
  )

  /** The fault proxy's admin API (Toxiproxy's), as this host reaches it. */
  proxyUrl(): string {
    const url = this.discovered().controller?.proxyUrl
    if (!url) throw new GamedayError(`the containers environment ${this.envId} has no fault proxy: run \`gameday env up --env containers\``)
    return url
  }

  /** The DROP rules in force in a node's or task's namespace (evidence, tests). */
  async dropRules(short: string): Promise<string[]> {
    return rulesIn(await this.docker(), this.networkName, this.name(short))
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async isUp(): Promise<boolean> {
    const d = await this.discover()
    return d.controller?.state === 'running' && Object.keys(d.nodes).length === this.topologyNodeCount()
  }

  private topologyNodeCount(): number {
    return Object.values(this.config.clusters).reduce((n, c) => n + c.nodes.length, 0)
  }

  /** Per image: the configured choice, with `auto` taking the local build when the engine has it. */
  async resolveImages(): Promise<Record<ImageName, string>> {
    const docker = await this.docker()
    const use = (process.env.GAMEDAY_IMAGES ?? this.config.images.use) as 'auto' | 'official' | 'local'
    if (!['auto', 'official', 'local'].includes(use)) throw new GamedayError(`GAMEDAY_IMAGES must be auto, official or local (got ${JSON.stringify(use)})`)
    const exists = async (image: string) => (await ignoreGone(docker.getImage(image).inspect())) !== undefined
    const out = {} as Record<ImageName, string>
    for (const key of Object.keys(OFFICIAL_IMAGES) as ImageName[]) {
      const local = this.config.images.local[key]
      const official = this.config.images.official[key]
      if (use === 'local' || (use === 'auto' && (await exists(local)))) {
        if (!(await exists(local))) throw new GamedayError(`image ${local} is not built: run \`npm run images\` (scripts/build-images.sh)`)
        out[key] = local
      } else {
        out[key] = official // pulled by testcontainers when missing
        if (!(await exists(official))) this.pulls.push(official)
      }
    }
    return out
  }

  /** official images resolveImages() found missing: testcontainers pulls them */
  private pulls: string[] = []

  async up(log: Logger, abort?: AbortSignal): Promise<void> {
    if (await this.isUp()) {
      log.info(`containers environment ${this.envId} already up`)
      return
    }
    const docker = await this.docker()
    await this.down(log) // leftovers of a crashed run, if any
    this.pulls = []
    const images = await this.resolveImages()
    if (this.pulls.length) log.info(`pulling ${this.pulls.join(', ')} (a host that cannot pull builds local images instead: npm run images)`)
    const { socketPath } = await this.dockerPromise!
    const labels = baseLabels(this.envId)

    const nodeList = Object.entries(this.config.clusters).flatMap(([cluster, c]) => c.nodes.map((n) => ({ cluster, ...n, c })))
    const httpServices = Object.entries(this.config.services)
      .filter(([, s]) => s.http)
      .map(([name]) => name)
    const ports = await freePorts(nodeList.length * 2 + Object.keys(this.config.caches).length + httpServices.length + 2)
    const take = () => ports.shift()!

    try {
      await docker.createNetwork({ Name: this.networkName, Driver: 'bridge', CheckDuplicate: true, Labels: labels })
      log.info(
        `starting ${nodeList.length} NATS nodes, ${Object.keys(this.config.caches).length} Redis and the controller (${images.nats}, ${images.redis}, ${images.node})`,
      )
      const nats = nodeList.map((n) => ({ url: `nats://${n.name}:${PORTS.client}`, az: n.az }))
      const starts: Promise<unknown>[] = []
      for (const n of nodeList) {
        const clientPort = take()
        const monitorPort = take()
        const peers = nodeList.filter((m) => m.cluster === n.cluster && m.name !== n.name)
        const conf = natsServerConfig({
          name: n.name,
          az: n.az,
          cluster: n.cluster,
          clientListen: `0.0.0.0:${PORTS.client}`,
          httpListen: `0.0.0.0:${PORTS.monitor}`,
          clusterListen: `0.0.0.0:${PORTS.cluster}`,
          routes: peers.map((m) => `nats-route://${m.name}:${PORTS.cluster}`),
          // clients outside (the host) use the published ports only, never container addresses
          noClientAdvertise: true,
          storeDir: '/data/jetstream',
          maxMemoryStore: n.c.maxMemoryStore,
          maxFileStore: n.c.maxFileStore,
        })
        starts.push(
          startContainer({
            image: images.nats,
            name: this.name(n.name),
            network: this.networkName,
            alias: n.name,
            labels: {
              ...labels,
              [LABEL.role]: 'nats',
              [LABEL.cluster]: n.cluster,
              [LABEL.node]: n.name,
              [LABEL.az]: n.az,
              [LABEL.portClient]: String(clientPort),
              [LABEL.portMonitor]: String(monitorPort),
            },
            command: ['--config', '/etc/nats/nats-server.conf'],
            files: [{ content: conf, target: '/etc/nats/nats-server.conf' }],
            publish: { [PORTS.client]: clientPort, [PORTS.monitor]: monitorPort },
            stopTimeoutS: 30,
            readyLog: /Server is ready/,
          }),
        )
      }
      for (const [name, c] of Object.entries(this.config.caches)) {
        const port = take()
        starts.push(
          startContainer({
            image: images.redis,
            name: this.name(name),
            network: this.networkName,
            alias: name,
            labels: { ...labels, [LABEL.role]: 'redis', [LABEL.cache]: name, ...(c.az ? { [LABEL.az]: c.az } : {}), [LABEL.portRedis]: String(port) },
            command: ['redis-server', '--port', String(PORTS.redis), ...redisPersistenceArgs(c.persistence), '--protected-mode', 'no'],
            publish: { [PORTS.redis]: port },
            readyLog: /Ready to accept connections/,
          }),
        )
      }
      const lbPorts: Record<string, number> = {}
      const lbLabels: Record<string, string> = {}
      const publish: Record<number, number> = {}
      httpServices.forEach((svc, i) => {
        lbPorts[svc] = PORTS.lbBase + i
        const host = take()
        publish[lbPorts[svc]] = host
        lbLabels[`${LABEL.portLbPrefix}${svc}`] = String(host)
      })
      const controlPort = take()
      publish[PORTS.control] = controlPort
      // the fault proxy: embedded in the controller, its admin API published on 127.0.0.1; or a
      // Toxiproxy at TOXIPROXY_URL, which this host and the containers both reach at that URL and
      // which reaches the caches by their names on the network (its links listen on its host)
      const external = process.env.TOXIPROXY_URL
      const proxyHostPort = take()
      if (!external) publish[PORTS.proxy] = proxyHostPort
      const proxyUrl = external ?? `http://127.0.0.1:${proxyHostPort}`
      const spec: ControllerSpec = {
        envId: this.envId,
        network: this.networkName,
        repoRoot: REPO_ROOT,
        nodeImage: images.node,
        labels,
        services: this.config.services,
        azs: this.topology().azs,
        nats,
        proxy: external
          ? { embedded: false, url: external, adminPort: PORTS.proxy, linkHost: new URL(external).hostname }
          : { embedded: true, url: `http://127.0.0.1:${PORTS.proxy}`, adminPort: PORTS.proxy, linkHost: 'controller' },
        cacheLinks: planCacheLinks(this.config),
        dependencies: [...nodeList.map((n) => `${n.name}:${PORTS.client}`), ...Object.keys(this.config.caches).map((c) => `${c}:${PORTS.redis}`)],
        lbPorts,
        controlPort: PORTS.control,
      }
      starts.push(
        startContainer({
          image: images.node,
          name: this.name('controller'),
          network: this.networkName,
          alias: 'controller',
          labels: { ...labels, [LABEL.role]: 'controller', [LABEL.portControl]: String(controlPort), [LABEL.proxyUrl]: proxyUrl, ...lbLabels },
          command: ['node', '--import', 'tsx', 'src/environments/containers/controller.ts'],
          env: { [CONTROLLER_ENV]: JSON.stringify(spec), TESTCONTAINERS_RYUK_DISABLED: 'true', DOCKER_HOST: 'unix:///var/run/docker.sock' },
          init: true,
          binds: [
            { source: REPO_ROOT, target: REPO_ROOT, mode: 'ro' },
            { source: socketPath, target: '/var/run/docker.sock', mode: 'rw' },
          ],
          workingDir: REPO_ROOT,
          restart: 'on-failure',
          publish,
          readyLog: new RegExp(CONTROLLER_READY.replace(/\./g, '\\.')),
        }),
      )
      const settled = await Promise.allSettled(starts)
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
      if (failed) throw failed.reason
      await this.discover()

      for (const cluster of Object.keys(this.config.clusters)) {
        await waitFor(
          `cluster ${cluster} to form with a JetStream meta leader`,
          async () => {
            const d = await this.discover()
            for (const n of Object.values(d.nodes))
              if (n.state !== 'running') throw new GamedayError(`NATS node container ${n.container} is ${n.state}: see \`docker logs ${n.container}\``)
            return (await observeCluster(this, cluster)).healthy
          },
          { timeoutMs: 60_000, intervalMs: 200, signal: abort },
        )
      }
      if (Object.keys(this.config.services).length) {
        log.info(
          `starting services: ${Object.entries(this.config.services)
            .map(([n, s]) => `${n}×${s.instances}`)
            .join(', ')}`,
        )
      }
      for (const service of Object.keys(this.config.services)) {
        await waitFor(
          `${service} tasks to be ready`,
          async () => {
            const t = (await this.taskRecords()).filter((r) => r.service === service)
            const crashed = t.filter((r) => r.state === 'STOPPED')
            if (crashed.length >= 3) throw new GamedayError(`${service} tasks keep exiting; see \`docker logs ${crashed[0].container}\``)
            return t.filter((r) => r.state === 'RUNNING').length >= this.config.services[service].instances
          },
          { timeoutMs: 90_000, intervalMs: 200, signal: abort },
        )
      }
    } catch (err) {
      log.warn(`env up failed: ${(err as Error).message}; removing what was started`)
      await this.down(log)
      if (this.pulls.length && /pull|registry|manifest|no such image/i.test(String((err as Error).message))) {
        throw new GamedayError(
          `${(err as Error).message}\n(could not get ${this.pulls.join(', ')}: on a host that cannot pull, build local images with \`npm run images\`)`,
        )
      }
      throw err
    }
  }

  async down(log: Logger): Promise<void> {
    const docker = await this.docker()
    const removed = await removeLabelled(docker, (l) => l[LABEL.env] === this.envId, { graceful: true })
    this.found = undefined
    if (removed.containers.length || removed.networks.length) {
      log.info(`containers environment ${this.envId} down (${removed.containers.length} containers, ${removed.networks.length} network removed)`)
    }
  }

  async status(): Promise<EnvironmentStatus> {
    const d = await this.discover()
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
    lines.push({
      what: 'controller',
      state: d.controller?.state ?? 'missing',
      detail: d.controller ? `${d.controller.container} :${d.controller.controlPort}` : undefined,
    })
    if (d.controller?.proxyUrl)
      lines.push({
        what: 'fault proxy',
        state: d.controller.state,
        detail: `${d.controller.proxyUrl} (${
          planCacheLinks(this.config)
            .map((l) => l.name)
            .join(', ') || 'no cache links'
        })`,
      })
    let records: TaskRecord[] = []
    try {
      records = await this.taskRecords()
    } catch (err) {
      lines.push({ what: 'tasks', state: 'unknown', detail: (err as Error).message })
    }
    for (const t of records.filter((r) => r.state !== 'STOPPED')) {
      lines.push({ what: `task ${t.id}`, state: t.state.toLowerCase(), detail: `${t.container} ${t.az}${t.ip ? ` ${t.ip}` : ''}` })
    }
    for (const [svc, port] of Object.entries(d.controller?.lbPorts ?? {}))
      lines.push({ what: `lb ${svc}`, state: 'listening', detail: `http://127.0.0.1:${port}` })
    return { up: d.controller?.state === 'running', lines }
  }
}
