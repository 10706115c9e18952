/**
 * The tasks part on AWS: ECS services and their tasks.
 *
 *   list            ListTasks (desiredStatus RUNNING) + DescribeTasks
 *   stop / kill     StopTask with a reason naming the run (ECS has one way to stop a task:
 *                   SIGTERM, then SIGKILL after the task definition's stopTimeout)
 *   waitForDesired  DescribeServices until runningCount == desiredCount, nothing pending, and
 *                   as many RUNNING, not UNHEALTHY tasks
 *
 * Waits poll at the file's pollInterval, backing off: ECS rate-limits its API, and a Fargate
 * replacement takes a minute or more.
 */
import { DescribeServicesCommand, DescribeTasksCommand, ListTasksCommand, StopTaskCommand, type Task } from '@aws-sdk/client-ecs'
import type { AwsEcs } from '../../api/aws.ts'
import type { Logger, TaskControl, TaskInfo, TaskLifecycle } from '../../api/environment.ts'
import { constants } from 'node:os'
import { TargetError } from '../../api/errors.ts'
import { writeDuration } from '../../util/duration.ts'
import { logicalAz } from './azs.ts'
import type { AwsClients } from './clients.ts'
import type { AwsConfig } from './config.ts'
import type { AwsDiscovery, ServiceInfo } from './discovery.ts'
import type { AwsGuard } from './guardrails.ts'
import { pollUntil } from './poll.ts'

type EcsTask = TaskInfo & { health?: string }

/** A container exit code above 128 is a death by signal (137: SIGKILL after the stopTimeout). */
function exitSignal(code: number | undefined): string | null {
  if (code === undefined || code <= 128) return null
  return Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0] ?? null
}

export class AwsTasks implements TaskControl, AwsEcs {
  readonly pollIntervalMs: number
  readonly cluster: string

  constructor(
    private readonly config: AwsConfig,
    private readonly clients: Pick<AwsClients, 'ecs'>,
    private readonly guard: AwsGuard,
    private readonly discovery: AwsDiscovery,
    private readonly log: () => Logger,
  ) {
    this.pollIntervalMs = config.pollInterval
    this.cluster = config.ecs.cluster
  }

  serviceName(service: string): string {
    return this.discovery.ecsServiceName(service)
  }

  /** The exact StopTask, for plan; a grace ECS cannot apply is said to be ignored, not shown as applied. */
  describe(action: 'stop' | 'kill', task: TaskInfo, opts: { graceMs?: number; reason?: string } = {}): string[] {
    const call = `ecs:StopTask cluster=${this.cluster} task=${task.id} reason="${stopReason(action, opts.reason)}"`
    const where = `(${task.service}${task.az ? ` in ${task.az}` : ''})`
    if (action === 'kill') return [`${call} ${where} — ECS has no SIGKILL-only stop: SIGTERM, then SIGKILL after the task definition's stopTimeout`]
    const grace =
      opts.graceMs !== undefined
        ? ` — grace ${writeDuration(opts.graceMs)} is NOT applied: ECS sends SIGTERM, then SIGKILL after the task definition's stopTimeout`
        : ''
    return [`${call} ${where}${grace}`]
  }

  /** desired / running / pending of a service, live. */
  async serviceCounts(service: string): Promise<ServiceInfo> {
    await this.discovery.ensure()
    const name = this.serviceName(service)
    const res = await this.clients.ecs.send(new DescribeServicesCommand({ cluster: this.cluster, services: [name] }))
    const svc = res.services?.[0]
    if (!svc) throw new TargetError(`ECS service ${name} not found in ${this.cluster}`)
    return this.discovery.serviceInfo(service, svc)
  }

  /** ListTasks (all pages) + DescribeTasks of a service's tasks that ECS wants in `desiredStatus`. */
  private async describeTasks(service: string, desiredStatus: 'RUNNING' | 'STOPPED'): Promise<Task[]> {
    await this.discovery.ensure()
    const serviceName = this.serviceName(service)
    const arns: string[] = []
    let nextToken: string | undefined
    do {
      const page = await this.clients.ecs.send(new ListTasksCommand({ cluster: this.cluster, serviceName, desiredStatus, nextToken }))
      arns.push(...(page.taskArns ?? []))
      nextToken = page.nextToken
    } while (nextToken)
    const tasks: Task[] = []
    for (let i = 0; i < arns.length; i += 100) {
      const res = await this.clients.ecs.send(new DescribeTasksCommand({ cluster: this.cluster, tasks: arns.slice(i, i + 100) }))
      for (const t of res.tasks ?? []) {
        if (!t.taskArn) continue
        this.guard.arn(t.taskArn)
        tasks.push(t)
      }
    }
    return tasks.sort((a, b) => a.taskArn!.localeCompare(b.taskArn!))
  }

  private az(t: Task): { az?: string } {
    return t.availabilityZone ? { az: logicalAz(this.config, t.availabilityZone) } : {}
  }

  /** Tasks the service wants running (desiredStatus RUNNING), with their live state. */
  async list(service: string): Promise<TaskInfo[]> {
    return (await this.describeTasks(service, 'RUNNING')).map((t): EcsTask => ({
      service,
      id: t.taskArn!,
      state: t.lastStatus ?? 'UNKNOWN',
      ...this.az(t),
      ...(t.startedAt ? { startedAt: t.startedAt.toISOString() } : {}),
      ...(t.healthStatus ? { health: t.healthStatus } : {}),
    }))
  }

  /**
   * The service's tasks as ECS records them — running ones and those stopped lately (ECS keeps
   * them about an hour) — so a stop's timing comes from ECS's own clock (running since, stopping
   * at, stopped at, the container's exit code), not from when a poll happened to look.
   */
  async history(service: string): Promise<TaskLifecycle[]> {
    const tasks = [...(await this.describeTasks(service, 'RUNNING')), ...(await this.describeTasks(service, 'STOPPED'))]
    return tasks.map((t) => {
      const exitCode = t.containers?.find((c) => c.exitCode !== undefined)?.exitCode
      return {
        service,
        id: t.taskArn!,
        ...this.az(t),
        state: t.lastStatus ?? 'UNKNOWN',
        ...(t.createdAt ? { startedAt: t.createdAt.toISOString() } : {}),
        ...(t.startedAt ? { readyAt: t.startedAt.toISOString() } : {}),
        ...(t.stoppingAt ? { drainingAt: t.stoppingAt.toISOString() } : {}),
        ...(t.stoppedAt ? { stoppedAt: t.stoppedAt.toISOString(), exitCode: exitCode ?? null, exitSignal: exitSignal(exitCode) } : {}),
        ...(t.stoppedReason ? { stopReport: { stoppedReason: t.stoppedReason, ...(t.stopCode ? { stopCode: t.stopCode } : {}) } } : {}),
      }
    })
  }

  async stop(task: TaskInfo, opts: { graceMs?: number; reason?: string } = {}): Promise<void> {
    if (opts.graceMs !== undefined) {
      this.log().warn(`ecs: grace ${writeDuration(opts.graceMs)} not applied to ${task.id}: ECS stops after the task definition's stopTimeout`)
    }
    await this.stopTask(task.id, stopReason('stop', opts.reason))
  }

  kill(task: TaskInfo): Promise<void> {
    return this.stopTask(task.id, stopReason('kill'))
  }

  private async stopTask(taskArn: string, reason: string): Promise<void> {
    await this.guard.check()
    this.guard.arn(taskArn)
    await this.clients.ecs.send(new StopTaskCommand({ cluster: this.cluster, task: taskArn, reason: reason.slice(0, 255) }))
  }

  /** Until the service runs its desired count of RUNNING, not UNHEALTHY tasks again. Read-only. */
  async waitForDesired(service: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    let counts: ServiceInfo | undefined
    const started = Date.now()
    await pollUntil(
      this.config,
      async () => {
        counts = await this.serviceCounts(service)
        if (counts.running !== counts.desired || counts.pending !== 0) return undefined
        const ready = (await this.list(service)).filter((t: EcsTask) => t.state === 'RUNNING' && t.health !== 'UNHEALTHY')
        return ready.length >= counts.desired ? counts : undefined
      },
      {
        timeoutMs,
        signal,
        timeoutMessage: (ms) =>
          `service ${service} not back to ${counts?.desired ?? '?'} running tasks after ${ms}ms (running ${counts?.running ?? '?'}, pending ${counts?.pending ?? '?'})`,
      },
    )
    this.log().info(`ecs: ${service} runs ${counts!.running}/${counts!.desired} tasks (checked after ${Date.now() - started}ms)`)
  }
}

/** The StopTask reason ECS shows in its console and events: it names the run. */
function stopReason(action: 'stop' | 'kill', reason?: string): string {
  return reason ?? (action === 'kill' ? 'gameday: kill task (ECS StopTask; no SIGKILL-only stop exists)' : 'gameday: stop task')
}
