/** The on-disk state of a running local environment, shared by the environment and its supervisor. */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TaskDefinition } from '../ecs/definition.ts'
import type { Link } from './links.ts'
import type { RedisPersistence } from '../redis-config.ts'
import type { ClusterNodePlan, RedisClusterConfig } from '../redis-cluster/plan.ts'
import type { NatsTls } from '../nats-config.ts'
import type { CertificateFiles } from '../tls/pki.ts'

export interface NodeState {
  cluster: string
  name: string
  az: string
  clientPort: number
  httpPort: number
  clusterPort: number
  confFile: string
  pidFile: string
  logFile: string
  storeDir: string
  /** its certificates, one pair per listener (a fault may replace one and not the other) */
  tls?: NatsTls & { names: string[] }
}

/** One node of a Redis Cluster: its own loopback address, and the gates in front of it that the cluster knows it by. */
export interface ClusterNodeState extends ClusterNodePlan {
  /** the loopback address it binds and leaves from */
  bindHost: string
  realPort: number
  busPort: number
  /** its gates on 127.0.0.1: what it announces (clients, replicas, the bus) */
  announcePort: number
  announceBusPort: number
  dir: string
  pidFile: string
  logFile: string
  tls?: CertificateFiles
}

export interface RedisClusterState {
  name: string
  config: RedisClusterConfig
  /** auth: true — made at env up */
  password?: string
  /** tls: true — the CA every node's certificate is from */
  caFile?: string
  nodes: Record<string, ClusterNodeState>
}

/** The environment's private CA (a cluster or cache with tls: true), made at env up. */
export interface PkiState {
  dir: string
  caFile: string
  /** client certificates by identity: each service, and gameday itself */
  clients: Record<string, CertificateFiles>
}

export interface LocalState {
  version: 1
  createdAt: string
  stateDir: string
  nodes: Record<string, NodeState>
  /** single redis-servers */
  caches: Record<string, { name: string; az?: string; port: number; pidFile: string; logFile: string; dir: string; persistence: RedisPersistence }>
  /** Redis Clusters (mode: cluster) */
  redisClusters: Record<string, RedisClusterState>
  pki?: PkiState
  /** NATS clusters with accounts: the `accounts { }` block every node's configuration carries */
  accounts?: Record<string, string>
  /** the services, as the ECS stand-in runs them */
  services: Record<string, TaskDefinition>
  /** the load balancer in front of the HTTP services (one port per http service) */
  lbPorts: Record<string, number>
  /** the fault proxy every internal path goes through: embedded in the supervisor, or TOXIPROXY_URL */
  proxy: { url: string; embedded: boolean; adminPort: number }
  links: Link[]
  supervisorPidFile: string
  /** the supervisor's loopback control API: starts processes it then owns and reaps; the ECS stand-in's task API */
  controlPort: number
  logsDir: string
}

export const stateFile = (stateDir: string) => join(stateDir, 'state.json')

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(value, null, 2))
  renameSync(tmp, path)
}

export function readState(stateDir: string): LocalState | undefined {
  const file = stateFile(stateDir)
  if (!existsSync(file)) return undefined
  return JSON.parse(readFileSync(file, 'utf8')) as LocalState
}
