/**
 * How each kind of container of the environment is made, with testcontainers' GenericContainer
 * (plus the few host settings it has no method for). Shared by the environment (NATS nodes,
 * Redis, the controller) and the controller (tasks), so both make them the same way.
 *
 * Every container joins exactly one network — the environment's — with its short name as an
 * alias (n1, cache, gateway-3), so that peers reach each other by name and a partition's
 * packet filter, which works on that network's addresses, sees all traffic between them.
 * Published ports bind to 127.0.0.1 only, at fixed host ports chosen at `up()`: they survive a
 * `docker stop` / `docker start` of the container, so endpoints never change.
 */
import type { HostConfig } from 'dockerode'
import type { GenericContainer as GenericContainerType } from 'testcontainers'
import { testcontainers } from './docker.ts'

/** container-side ports; the controller's fault proxy: admin API on `proxy`, cache links from `cacheLinkBase` */
export const PORTS = {
  client: 4222,
  cluster: 6222,
  monitor: 8222,
  redis: 6379,
  redisBus: 16379,
  control: 8001,
  lbBase: 8100,
  task: 8080,
  proxy: 8474,
  cacheLinkBase: 7000,
} as const

export interface ContainerOptions {
  image: string
  name: string
  network: string
  alias: string
  labels: Record<string, string>
  command?: string[]
  env?: Record<string, string>
  /** container port → host port on 127.0.0.1 */
  publish?: Record<number, number>
  /** docker-init as PID 1: forwards signals, reaps zombies (node tasks spawn esbuild) */
  init?: boolean
  binds?: { source: string; target: string; mode?: 'ro' | 'rw' }[]
  workingDir?: string
  /** seconds `docker stop` waits before SIGKILL */
  stopTimeoutS?: number
  restart?: 'no' | 'on-failure'
  files?: { content: string; target: string }[]
  /** a log line that says the container is ready */
  readyLog?: RegExp
  startupTimeoutMs?: number
}

type Ctor = new (image: string) => GenericContainerType & { configure(o: ContainerOptions): GenericContainerType }
let ctor: Ctor | undefined

async function gamedayContainerClass(): Promise<Ctor> {
  if (ctor) return ctor
  const { GenericContainer } = await testcontainers()
  class GamedayContainer extends GenericContainer {
    private extra: HostConfig = {}
    private network?: { name: string; alias: string }

    configure(o: ContainerOptions): this {
      this.withName(o.name).withLabels(o.labels).withNetworkMode(o.network)
      // aliases through the endpoint config, not withNetworkAliases(): that one attaches the
      // container to the default bridge too, a second path a partition would not cut
      this.network = { name: o.network, alias: o.alias }
      if (o.command) this.withCommand(o.command)
      if (o.env) this.withEnvironment(o.env)
      if (o.publish) this.withExposedPorts(...Object.entries(o.publish).map(([container, host]) => ({ container: Number(container), host })))
      if (o.binds) this.withBindMounts(o.binds.map((b) => ({ source: b.source, target: b.target, mode: b.mode ?? 'ro' })))
      if (o.workingDir) this.withWorkingDir(o.workingDir)
      if (o.files?.length) this.withCopyContentToContainer(o.files)
      if (o.init) this.extra.Init = true
      if (o.restart === 'on-failure') this.extra.RestartPolicy = { Name: 'on-failure', MaximumRetryCount: 10 }
      if (o.stopTimeoutS !== undefined) this.createOpts.StopTimeout = o.stopTimeoutS
      return this
    }

    protected override async beforeContainerCreated(): Promise<void> {
      Object.assign(this.hostConfig, this.extra)
      for (const bindings of Object.values(this.hostConfig.PortBindings ?? {}) as { HostIp?: string }[][]) {
        for (const b of bindings) b.HostIp = '127.0.0.1'
      }
      if (this.network) {
        this.createOpts.NetworkingConfig = { EndpointsConfig: { [this.network.name]: { Aliases: [this.network.alias] } } }
      }
    }
  }
  ctor = GamedayContainer as unknown as Ctor
  return ctor
}

/** Creates and starts a container; resolves once its ready log line appeared (when given). */
export async function startContainer(o: ContainerOptions) {
  const { Wait } = await testcontainers()
  const C = await gamedayContainerClass()
  const container = new C(o.image).configure(o)
  // without a ready line and with no published port, start() returns once the container runs
  if (o.readyLog) container.withWaitStrategy(Wait.forLogMessage(o.readyLog))
  container.withStartupTimeout(o.startupTimeoutMs ?? 60_000)
  return container.start()
}
