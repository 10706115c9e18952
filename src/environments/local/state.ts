/** The on-disk state of a running local environment, shared by the environment and its supervisor. */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TaskDefinition } from '../ecs/definition.ts'
import type { Link } from './links.ts'
import type { RedisPersistence } from '../redis-config.ts'

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
}

export interface LocalState {
  version: 1
  createdAt: string
  stateDir: string
  nodes: Record<string, NodeState>
  caches: Record<string, { name: string; az?: string; port: number; pidFile: string; logFile: string; dir: string; persistence: RedisPersistence }>
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
