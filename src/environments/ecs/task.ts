/**
 * One task's lifecycle under the ECS stand-in — the same whether the task is a process or a
 * container:
 *
 *   PENDING ──ready──▶ RUNNING ──deregistered, SIGTERM, or its own `draining`──▶ DRAINING ──exit──▶ STOPPED
 *      └───────────────────── exit (a crash, a kill, never ready) ────────────────────────────▶ STOPPED
 *
 * One rule for the times: what the task itself states (the `at` of its JSON event line) is taken
 * as it says it; otherwise the time is when the stand-in saw or caused the change.
 */
import type { TaskLifecycle } from '../../api/environment.ts'

export type TaskState = 'PENDING' | 'RUNNING' | 'DRAINING' | 'STOPPED'

/** A task as the stand-in tracks it (id: TASK_ID, `<service>-<n>`, unique within the environment). */
export interface TaskRecord extends Omit<TaskLifecycle, 'state' | 'az' | 'startedAt'> {
  az: string
  state: TaskState
  startedAt: string
  /** where it runs: its pid (processes) or its container's name (containers) */
  pid?: number
  container?: string
  /** where the balancer and the readiness checks reach its port (http and tcp services) */
  host?: string
  port?: number
  /** when the load balancer stopped giving it new connections, before its SIGTERM */
  deregisteredAt?: string
  /** why it stopped, as ECS says it: the reason a stop was asked with, "exited", "not ready within 60s" */
  stoppedReason?: string
  /** a stop was asked for */
  stopRequested?: boolean
  /** it stopped before it was ever ready, and why: what `env up` reports */
  failed?: string
  /** its last lines of output, kept when it failed */
  lastLines?: string[]
}

/** A JSON event line a task wrote: {"event":"ready"|"draining"|"stopped", "at": ISO time, ...}. */
export interface TaskEvent extends Record<string, unknown> {
  event: string
  at?: string
}

export function parseTaskEvent(line: string): TaskEvent | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const value = JSON.parse(line) as unknown
    if (value && typeof value === 'object' && typeof (value as TaskEvent).event === 'string') return value as TaskEvent
  } catch {
    // a line that merely starts with a brace: output, not an event
  }
  return undefined
}

const now = () => new Date().toISOString()
const stated = (at: unknown) => (typeof at === 'string' && !Number.isNaN(Date.parse(at)) ? at : now())

/** PENDING → RUNNING; false when the task was not pending (ready once only). */
export function markReady(task: TaskRecord, at?: string): boolean {
  if (task.state !== 'PENDING') return false
  task.state = 'RUNNING'
  task.readyAt = stated(at)
  return true
}

/** Out of the load balancer: no new connections from now on (ECS: DEACTIVATING). */
export function markDeregistered(task: TaskRecord): void {
  if (task.state === 'STOPPED') return
  task.state = 'DRAINING'
  task.deregisteredAt ??= now()
}

/**
 * The task began draining: told so by the task itself (its `draining` line, whose time wins),
 * or asked to by the stand-in (its SIGTERM, when the task says nothing).
 */
export function markDraining(task: TaskRecord, source: { event: TaskEvent } | 'sigterm'): void {
  if (task.state === 'STOPPED') return
  task.state = 'DRAINING'
  if (source === 'sigterm') task.drainingAt ??= now()
  else task.drainingAt = stated(source.event.at)
}

export interface TaskExit {
  code: number | null
  signal: string | null
  /** when the runtime saw it exit (docker's event time), if it knows */
  at?: string
}

/**
 * → STOPPED. A task that exits before it was ever ready, without being asked to stop, failed.
 * False when it was stopped already.
 */
export function markStopped(task: TaskRecord, exit: TaskExit): boolean {
  if (task.state === 'STOPPED') return false
  task.state = 'STOPPED'
  task.stoppedAt = stated(exit.at)
  task.exitCode = exit.code
  task.exitSignal = exit.signal
  task.stoppedReason ??= describeExit(exit)
  if (task.readyAt === undefined && !task.stopRequested) task.failed ??= task.stoppedReason
  return true
}

/** A stop was asked for (by a fault, by `env down`, by the stand-in itself): an exit then is no crash. */
export function markStopRequested(task: TaskRecord, reason: string): void {
  task.stopRequested = true
  task.stoppedReason ??= reason
}

export function describeExit(exit: TaskExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code ?? '?'}`
}

/** What the task reported on its way out (in flight at the stop, drained, abandoned, dropped). */
export function recordStopReport(task: TaskRecord, event: TaskEvent): void {
  task.stopReport = event
}
