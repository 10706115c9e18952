/** What the environment tells its controller (its API is the ECS stand-in's: ../ecs/control-api.ts). */
import type { TaskDefinition } from '../ecs/definition.ts'
import type { ClusterNodePlan } from '../redis-cluster/plan.ts'

export interface ControllerSpec {
  envId: string
  network: string
  /** the repository, bind-mounted read-only at the same path into every task */
  repoRoot: string
  nodeImage: string
  /** labels every task carries besides its own (gameday.env, creator, test run) */
  labels: Record<string, string>
  /** the services, as the ECS stand-in runs them */
  services: Record<string, TaskDefinition>
  azs: string[]
  /** every NATS node, in cluster order: a task gets its own AZ's first (it connects in order) */
  nats: { url: string; az: string }[]
  /** the fault proxy the services reach their caches through */
  proxy: ControllerProxy
  /** one proxy per (service, cache): the service's tasks get it as REDIS_URL */
  cacheLinks: CacheLinkSpec[]
  /** host:port inside the network that must listen before the first tasks start */
  dependencies: string[]
  /** http service → the controller's load-balancer port (inside its container) */
  lbPorts: Record<string, number>
  controlPort: number
  /** the production shape: variables of each service's tasks beyond the standard ones (TLS files, the Redis Cluster's NAT map, passwords) */
  serviceVariables?: Record<string, Record<string, string>>
  /** how the stand-in connects to NATS for its readiness checks (TLS, as gameday) */
  observerNatsOptions?: Record<string, unknown>
  /** host paths an image task gets bind-mounted read-only at the same path (its CA and client certificate) */
  taskBinds?: string[]
  /** caches whose links carry TLS (their REDIS_URL is rediss://) */
  tlsCaches?: string[]
  /** Redis Clusters the controller forms before the first task starts */
  redisClusters?: Record<string, ControllerRedisCluster>
}

export interface ControllerRedisCluster {
  password?: string
  /** the CA its nodes' certificates are from (a host path the controller sees: under the repository) */
  caFile?: string
  /** its nodes as planned; each reached by its name (its alias on the network), port 6379 */
  nodes: ClusterNodePlan[]
}

export interface ControllerProxy {
  /** true: the controller runs the embedded FaultProxy (admin API on adminPort); false: a Toxiproxy at url */
  embedded: boolean
  /** the admin API, as the controller reaches it */
  url: string
  /** the admin API's port inside the controller's container (embedded) */
  adminPort: number
  /** the host tasks reach the link ports at: the controller, or the external Toxiproxy's host */
  linkHost: string
}

export interface CacheLinkSpec {
  /** cache-<service>-<cache>, the proxy's name */
  name: string
  kind: 'cache'
  /** the service */
  from: string
  /** the cache */
  to: string
  /** where the proxy listens (on linkHost) */
  listenPort: number
  /** the cache, host:port on the network */
  upstream: string
  /** a Redis Cluster's node behind this link */
  node?: string
}

export const CONTROLLER_ENV = 'GAMEDAY_CONTROLLER'
export const CONTROLLER_READY = 'gameday.controller.ready'

export const containerName = (envId: string, short: string) => `gameday-${envId}-${short}`
