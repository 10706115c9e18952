/**
 * ecs.stop-task: ECS StopTask on a count or a percentage of a service's RUNNING tasks, picked
 * with the step's seeded random stream (same seed, same tasks), then — as the revert — wait
 * until the service runs its desired count again. What ECS does in between (draining the
 * load balancer target, starting a replacement) is the thing under test.
 *
 *   - fault: ecs.stop-task
 *     target: { service: ai-integration, percent: 50 }
 *     with: { recoveryTimeout: 10m }
 */
import { z } from 'zod'
import { awsEnvironment } from './common.ts'
import { defineFault, Duration, TargetError, ValidationError, writeDuration, type Json, type ResolvedTarget } from '../../../src/api/index.ts'

const TYPE = 'ecs.stop-task'

export const EcsStopTaskParams = z
  .strictObject({
    recoveryTimeout: Duration.prefault('10m').describe('how long the revert waits for the service to run its desired count again'),
    waitForRecovery: z.boolean().default(true).describe('revert waits for the service to recover (false: revert does nothing)'),
    reason: z.string().max(200).optional().describe('extra text for the ECS stop reason (the run id is always there)'),
  })
  .prefault({})

export type EcsStopTaskParams = z.infer<typeof EcsStopTaskParams>

export interface EcsStopTaskState {
  [key: string]: Json
  cluster: string
  service: string
  ecsService: string
  tasks: string[]
  reason: string
}

function stopReason(runId: string, extra?: string): string {
  return `gameday ${runId}${extra ? `: ${extra}` : ''}`
}

export const ecsStopTask = defineFault<EcsStopTaskParams, EcsStopTaskState | null>({
  type: TYPE,
  description: "ECS StopTask on a count or percent of a service's running tasks (seeded pick); revert waits for the desired count",
  targets: ['task'],
  params: EcsStopTaskParams,

  async resolve(ctx, spec) {
    const aws = awsEnvironment(ctx, TYPE)
    const service = spec.target.service
    if (!service) throw new ValidationError(`${TYPE} needs target.service`)
    const wanted = spec.target.az === undefined ? undefined : ([] as string[]).concat(spec.target.az)
    const tasks = await aws.listTasks(service)
    const running = tasks.filter((t) => t.state === 'RUNNING' && (!wanted || (t.az !== undefined && wanted.includes(t.az))))
    if (!running.length) throw new TargetError(`${TYPE}: service ${service} has no RUNNING task${wanted ? ` in ${wanted.join(', ')}` : ''}`)
    const k = spec.target.count ?? (spec.target.percent !== undefined ? Math.ceil((running.length * spec.target.percent) / 100) : 1)
    // listTasks sorts by ARN, so the pick depends on the seed only, not on the API's order
    const picked = ctx.rng.sample(running, Math.min(k, running.length))
    ctx.log.info(
      `${TYPE}: picked ${picked.length} of ${running.length} running tasks of ${service} (seed ${ctx.rng.seed}): ${picked.map((t) => t.id.split('/').pop()).join(', ')}`,
    )
    const ecsService = aws.ecsServiceName(service)
    return picked.map((t): ResolvedTarget => ({
      kind: 'task',
      id: t.id,
      service,
      ecsService,
      cluster: aws.config.ecs.cluster,
      az: t.az ?? null,
      startedAt: t.startedAt ?? null,
      runningAtPick: running.length,
    }))
  },

  describe(ctx, spec, targets) {
    const aws = awsEnvironment(ctx, TYPE)
    const cluster = aws.config.ecs.cluster
    const reason = stopReason(ctx.runId, spec.params.reason)
    const lines = targets.map((t) => `ecs:StopTask cluster=${cluster} task=${t.id} reason="${reason}"`)
    if (spec.params.waitForRecovery && spec.target.service) {
      lines.push(
        `(revert, read-only) ecs:DescribeServices cluster=${cluster} services=[${aws.ecsServiceName(spec.target.service)}] until runningCount == desiredCount, within ${writeDuration(spec.params.recoveryTimeout)}`,
      )
    }
    return lines
  },

  /** after a crash between the journaled targets and the journaled state: wait on the same service */
  stateFromTargets(targets) {
    const t = targets[0]
    return t ? { cluster: String(t.cluster), service: String(t.service), ecsService: String(t.ecsService), tasks: targets.map((x) => x.id), reason: '' } : null
  },

  async inject(ctx, spec, targets) {
    const aws = awsEnvironment(ctx, TYPE)
    const service = spec.target.service!
    const reason = stopReason(ctx.runId, spec.params.reason)
    const stopped: string[] = []
    for (const t of targets) {
      if (ctx.signal.aborted) break
      await aws.stopTask(t.id, reason)
      stopped.push(t.id)
      ctx.log.info(`${TYPE}: ecs:StopTask ${t.id} (${service}${t.az ? ` in ${t.az}` : ''})`)
    }
    ctx.evidence('ecs.tasks-stopped', { service, tasks: stopped, at: new Date().toISOString() })
    return { cluster: aws.config.ecs.cluster, service, ecsService: aws.ecsServiceName(service), tasks: stopped, reason }
  },

  async revert(ctx, spec, state) {
    if (!spec.params.waitForRecovery) return
    const aws = awsEnvironment(ctx, TYPE)
    const service = state?.service ?? spec.target.service
    if (!service) throw new ValidationError(`${TYPE}: revert needs the service (from the journal or target.service)`)
    // ctx.signal here is the engine's bound on one revert attempt; waiting again is harmless
    const counts = await aws.waitForService(service, spec.params.recoveryTimeout, ctx.signal)
    ctx.log.info(`${TYPE}: ${service} is back to ${counts.running}/${counts.desired} running tasks`)
  },
})
