/** What the environment tells its controller, and what the controller's API answers. */
import type { LocalService } from '../local/config.ts'

export interface ControllerSpec {
  envId: string
  network: string
  /** the repository, bind-mounted read-only at the same path into every task */
  repoRoot: string
  nodeImage: string
  /** labels every task carries besides its own (gameday.env, creator, test run) */
  labels: Record<string, string>
  services: Record<string, LocalService>
  azs: string[]
  natsUrls: string[]
  /** cache name → redis URL inside the network */
  redisUrls: Record<string, string>
  /** host:port inside the network that must listen before the first tasks start */
  dependencies: string[]
  /** http service → the controller's load-balancer port (inside its container) */
  lbPorts: Record<string, number>
  controlPort: number
}

/** PENDING (started, not ready) | RUNNING (ready) | DRAINING | STOPPED, as the local supervisor's */
export type TaskState = 'PENDING' | 'RUNNING' | 'DRAINING' | 'STOPPED'

export interface TaskRecord {
  service: string
  /** the task id (TASK_ID): <service>-<n>, unique within the environment */
  id: string
  container: string
  az: string
  state: TaskState
  ip?: string
  startedAt: string
  readyAt?: string
  drainingAt?: string
  stoppedAt?: string
  exitCode?: number | null
  /** what the task itself reported when it stopped (its `stopped` line) */
  stopReport?: Record<string, unknown>
}

export interface TasksResponse {
  updatedAt: string
  tasks: TaskRecord[]
}

export const CONTROLLER_ENV = 'GAMEDAY_CONTROLLER'
export const CONTROLLER_READY = 'gameday.controller.ready'

export const containerName = (envId: string, short: string) => `gameday-${envId}-${short}`
