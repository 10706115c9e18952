/**
 * ecs.stop-task: `service.stop-task`, refused anywhere but on ECS. On AWS, service.stop-task is
 * already ECS StopTask on a seeded pick of a service's RUNNING tasks (the run id as the stop
 * reason), waiting for replacements, and its revert waits for the desired count: this name only
 * keeps experiments written for AWS (and per-fault limits under `limits.faults.ecs.stop-task`)
 * working, and journals the ECS cluster and service names with each target. Same parameters as
 * service.stop-task.
 *
 *   - fault: ecs.stop-task
 *     target: { service: ai-integration, percent: 50 }
 *     with: { recoveryTimeout: 10m }
 */
import { defineFault, TargetError } from '../../../src/api/index.ts'
import { awsOf } from './aws.ts'
import { serviceStopTask } from '../service-task.ts'

const TYPE = 'ecs.stop-task'

export const ecsStopTask = defineFault({
  ...serviceStopTask,
  type: TYPE,
  description: 'service.stop-task on ECS only: StopTask on a seeded pick of a service’s running tasks; revert waits for the desired count',
  async resolve(ctx, spec) {
    const ecs = awsOf(ctx, TYPE).ecs
    if (!spec.target.service) throw new TargetError(`${TYPE} needs target.service`)
    const ecsService = ecs.serviceName(spec.target.service)
    return (await serviceStopTask.resolve(ctx, spec)).map((t) => ({ ...t, cluster: ecs.cluster, ecsService }))
  },
})
