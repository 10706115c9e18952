/** The on-disk state of a running local environment, shared by the environment and its supervisor. */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TaskLifecycle } from '../../api/environment.ts'
import type { LocalService } from './config.ts'
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
  services: Record<string, LocalService>
  /** the load balancer in front of the HTTP services (one port per http service) */
  lbPorts: Record<string, number>
  /** the fault proxy every internal path goes through: embedded in the supervisor, or TOXIPROXY_URL */
  proxy: { url: string; embedded: boolean; adminPort: number }
  links: Link[]
  supervisorPidFile: string
  /** the supervisor's loopback control API (starts processes it then owns and reaps) */
  controlPort: number
  tasksFile: string
  logsDir: string
}

/** A task's state under the process environments' own schedulers (this supervisor, the containers controller). */
export type TaskState = 'PENDING' | 'RUNNING' | 'DRAINING' | 'STOPPED'

/** A task as the supervisor tracks it: the lifecycle timing reports read, plus where it runs. */
export interface TaskRecord extends Omit<TaskLifecycle, 'state' | 'az' | 'startedAt'> {
  pid: number
  az: string
  /** PENDING (started, not ready) | RUNNING (ready) | DRAINING | STOPPED */
  state: TaskState
  port?: number
  startedAt: string
}

export interface TasksFile {
  updatedAt: string
  supervisorPid: number
  tasks: TaskRecord[]
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

export function readTasks(file: string): TasksFile | undefined {
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TasksFile
  } catch {
    return undefined // mid-rename on some filesystems: the next poll reads it
  }
}
