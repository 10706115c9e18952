/** What the environment tells its controller (its API is the ECS stand-in's: ../ecs/control-api.ts). */
import type { TaskDefinition } from '../ecs/definition.ts'

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
}

export const CONTROLLER_ENV = 'GAMEDAY_CONTROLLER'
export const CONTROLLER_READY = 'gameday.controller.ready'

export const containerName = (envId: string, short: string) => `gameday-${envId}-${short}`
