/**
 * The environments' `tasks` part for the ECS stand-in: the TaskControl faults use, over the
 * stand-in's API (control-api.ts) — the same for the local supervisor and the containers
 * controller, as the AWS environment's is over ECS's.
 */
import type { TaskControl, TaskInfo, TaskLifecycle } from '../../api/environment.ts'
import { GamedayError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import type { TasksResponse } from './control-api.ts'
import type { TaskRecord } from './task.ts'

export interface TaskApiOptions {
  /** the stand-in's API base URL; throws when the environment is not up */
  baseUrl(): string
  /** the desired count of a service */
  desired(service: string): number
  /** the longest a stop may take: deregistration delay plus grace, for the request's own timeout */
  stopBudgetMs(service: string, graceMs?: number): number
  /** what to say when the API does not answer */
  notAnswering(err: Error): GamedayError
}

export class TaskApi implements TaskControl {
  constructor(private readonly opts: TaskApiOptions) {}

  /** Every task the stand-in remembers, stopped ones included. */
  async records(): Promise<TaskRecord[]> {
    const base = this.opts.baseUrl()
    try {
      const res = await fetch(`${base}/tasks`, { signal: AbortSignal.timeout(5000) })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      return ((await res.json()) as TasksResponse).tasks
    } catch (err) {
      throw this.opts.notAnswering(err as Error)
    }
  }

  private async post(task: TaskInfo, action: 'stop' | 'kill', body: Record<string, unknown>, timeoutMs: number): Promise<void> {
    const res = await fetch(`${this.opts.baseUrl()}/tasks/${encodeURIComponent(task.id)}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    // a task gone already is stopped: nothing left to do (ECS StopTask on a stopped task succeeds too)
    if (!res.ok && res.status !== 404) throw new GamedayError(`${action} ${task.id}: ${await res.text()}`)
  }

  async list(service: string): Promise<TaskInfo[]> {
    return (await this.records())
      .filter((t) => t.service === service && t.state !== 'STOPPED')
      .map((t): TaskInfo => ({ service: t.service, id: t.id, az: t.az, state: t.state, startedAt: t.startedAt }))
  }

  async stop(task: TaskInfo, opts?: { graceMs?: number; reason?: string }): Promise<void> {
    await this.post(task, 'stop', { ...opts }, this.opts.stopBudgetMs(task.service, opts?.graceMs) + 30_000)
  }

  async kill(task: TaskInfo): Promise<void> {
    await this.post(task, 'kill', {}, 30_000)
  }

  async waitForDesired(service: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const desired = this.opts.desired(service)
    await waitFor(
      `${service} to run ${desired} ready tasks`,
      async () => (await this.records()).filter((t) => t.service === service && t.state === 'RUNNING').length >= desired,
      { timeoutMs, intervalMs: 100, signal },
    )
  }

  async history(service: string): Promise<TaskLifecycle[]> {
    return (await this.records()).filter((t) => t.service === service)
  }
}
