/**
 * What the ECS stand-in needs of the thing that runs a task: start it, hear its output, signal
 * it, learn when it exited. Two runtimes: child processes (../local/process-runtime.ts) and
 * Docker containers (../containers/container-runtime.ts). Everything else about a task — its
 * lifecycle, replacement, readiness, the load balancer, how it is stopped — is the scheduler's.
 */
import type { TaskDefinition } from './definition.ts'
import type { TaskExit } from './task.ts'

export interface TaskLaunch {
  id: string
  service: string
  az: string
  definition: TaskDefinition
  /** the task's variables: the standard ones and the service's own, placeholders filled */
  env: Record<string, string>
  /** `command`, placeholders filled */
  command?: string[]
  port?: number
}

export interface RunningTask {
  /** its pid (processes) */
  pid?: number
  /** its container's name (containers) */
  container?: string
  /** where the stand-in reaches the task's port */
  host: string
  /** resolves once, when it has exited (its output read to the end) */
  exited: Promise<TaskExit>
  signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>
}

/** Where each line a task writes (stdout and stderr) goes. */
export type LineSink = (line: string) => void

/** A task an earlier host of the same environment started (a restarted controller takes it over). */
export interface AdoptedTask {
  id: string
  service: string
  az: string
  startedAt: string
  /** still running; its output is replayed from its first line */
  running?: RunningTask
  /** already gone */
  exit?: TaskExit
}

export interface TaskRuntime {
  /** the port a task listens on: a free one (processes), or the fixed container port */
  taskPort(): Promise<number>
  /** starts a task; resolves once it runs (not once it is ready); rejects when it cannot start */
  start(launch: TaskLaunch, lines: LineSink): Promise<RunningTask>
  /** tasks left by an earlier host, oldest first */
  adopt?(lines: (id: string) => LineSink): Promise<AdoptedTask[]>
  /** frees what a stopped task still holds once the stand-in forgets it (its container) */
  forget?(task: { id: string; container?: string }): Promise<void>
}
