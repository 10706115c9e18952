/**
 * The Docker side of the containers environment: testcontainers (v11, without Ryuk — its image
 * cannot be pulled everywhere, and an environment must outlive the process that started it),
 * the labels every container and network carries, and removal by label — the one cleanup
 * mechanism, used by `env down`, by tests and after a crashed process alike.
 */
import type Dockerode from 'dockerode'
import type { ContainerInfo } from 'dockerode'
import { hostname } from 'node:os'

// Ryuk reaps a session's containers when the process that made them exits: an environment
// started by `gameday env up` must survive that, and Ryuk's image cannot be pulled everywhere.
// Set before testcontainers is first imported (it reads it lazily, but be safe).
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true'
// Where testcontainers thinks the engine's ports are reachable. We never use its answer (our
// endpoints are the ports we published on 127.0.0.1), and finding it out inside a container —
// or on a host that has a /.dockerenv — makes it pull alpine to run `ip route`: never do that.
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost'

export type Testcontainers = typeof import('testcontainers')

let tcModule: Promise<Testcontainers> | undefined
/** testcontainers, imported only once the Ryuk switch is set. */
export function testcontainers(): Promise<Testcontainers> {
  tcModule ??= import('testcontainers')
  return tcModule
}

export async function dockerClient(): Promise<{ docker: Dockerode; socketPath: string }> {
  const tc = await testcontainers()
  const client = await tc.getContainerRuntimeClient()
  return { docker: client.container.dockerode, socketPath: client.info.containerRuntime.remoteSocketPath }
}

export const LABEL = {
  env: 'gameday.env',
  role: 'gameday.role',
  cluster: 'gameday.cluster',
  node: 'gameday.node',
  az: 'gameday.az',
  cache: 'gameday.cache',
  service: 'gameday.service',
  task: 'gameday.task',
  /** host:pid of the process that created it: a sweep can tell leftovers of dead processes */
  creator: 'gameday.creator',
  /** tests: the vitest run that created it */
  testRun: 'gameday.test-run',
  portClient: 'gameday.port.client',
  portMonitor: 'gameday.port.monitor',
  /** a TLS cluster's route port, published so its certificate can be checked */
  portCluster: 'gameday.port.cluster',
  portRedis: 'gameday.port.redis',
  portControl: 'gameday.port.control',
  /** the fault proxy's admin API as the host reaches it (the controller's published port, or TOXIPROXY_URL) */
  proxyUrl: 'gameday.proxy.url',
  /** lb ports: gameday.port.lb.<service>=<host port> */
  portLbPrefix: 'gameday.port.lb.',
} as const

export type Role = 'nats' | 'redis' | 'redis-node' | 'task' | 'controller'

export function baseLabels(envId: string): Record<string, string> {
  return {
    [LABEL.env]: envId,
    [LABEL.creator]: `${hostname()}:${process.pid}`,
    ...(process.env.GAMEDAY_TEST_RUN ? { [LABEL.testRun]: process.env.GAMEDAY_TEST_RUN } : {}),
  }
}

export function isNotFound(err: unknown): boolean {
  const code = (err as { statusCode?: number }).statusCode
  // 304: stopping a container that stopped meanwhile
  return (
    code === 304 ||
    code === 404 ||
    code === 409 ||
    /no such|not running|is not paused|already in progress|is already paused|already stopped/i.test(String((err as Error).message))
  )
}

export async function ignoreGone<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}

export async function listContainers(docker: Dockerode, labels: Record<string, string> | string[]): Promise<ContainerInfo[]> {
  const label = Array.isArray(labels) ? labels : Object.entries(labels).map(([k, v]) => `${k}=${v}`)
  return docker.listContainers({ all: true, filters: { label } })
}

export interface Sweep {
  containers: string[]
  networks: string[]
}

/**
 * Removes every container and network whose labels pass `match` (containers first: a network
 * with endpoints cannot go). Never throws for things already gone.
 */
export async function removeLabelled(docker: Dockerode, match: (labels: Record<string, string>) => boolean, opts: { graceful?: boolean } = {}): Promise<Sweep> {
  const removed: Sweep = { containers: [], networks: [] }
  // again while something turns up: a container whose creation was in flight when its creator
  // (a killed process, the controller we just removed) went is listed only once it exists
  for (let pass = 0; pass < 5; pass++) {
    const sweep = await removeOnce(docker, match, { graceful: opts.graceful && pass === 0 })
    removed.containers.push(...sweep.containers)
    removed.networks.push(...sweep.networks)
    if (!sweep.containers.length && !sweep.networks.length) break
  }
  return removed
}

async function removeOnce(docker: Dockerode, match: (labels: Record<string, string>) => boolean, opts: { graceful?: boolean }): Promise<Sweep> {
  const containers = (await docker.listContainers({ all: true, filters: { label: [LABEL.env] } })).filter((c) => match(c.Labels ?? {}))
  // the controller first, so that it does not replace the tasks we are removing
  const controllers = containers.filter((c) => c.Labels[LABEL.role] === 'controller')
  await Promise.all(controllers.map((c) => ignoreGone(docker.getContainer(c.Id).remove({ force: true, v: true }))))
  if (opts.graceful) {
    // tasks drain on SIGTERM, as ECS stops them; their stop timeout is their grace
    const tasks = containers.filter((c) => c.Labels[LABEL.role] === 'task' && c.State === 'running')
    await Promise.all(tasks.map((c) => ignoreGone(docker.getContainer(c.Id).stop())))
  }
  await Promise.all(containers.filter((c) => !controllers.includes(c)).map((c) => ignoreGone(docker.getContainer(c.Id).remove({ force: true, v: true }))))
  const networks = (await docker.listNetworks({ filters: { label: [LABEL.env] } })).filter((n) => match(n.Labels ?? {}))
  for (const n of networks) await ignoreGone(docker.getNetwork(n.Id).remove())
  return { containers: containers.map((c) => c.Names?.[0]?.replace(/^\//, '') ?? c.Id), networks: networks.map((n) => n.Name) }
}

/** Whether the process that created something is gone (on this host): its leftovers are fair game. */
export function creatorGone(labels: Record<string, string>): boolean {
  const [host, pid] = (labels[LABEL.creator] ?? '').split(':')
  if (!host || !pid || host !== hostname()) return false
  try {
    process.kill(Number(pid), 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
