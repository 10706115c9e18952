/** The faults that exist only on AWS. Generic faults (nats.*, network.partition, redis.*) reach
 * AWS through the environment's controls instead. */
import type { FaultType } from '../../api/fault.ts'
import { ecsStopTask } from './ecs-stop-task.ts'
import { fisExperiment } from './fis-experiment.ts'
import { redisAzPower } from './redis-az-power.ts'
import { redisFailover } from './redis-failover.ts'

export { ecsStopTask, fisExperiment, redisAzPower, redisFailover }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const awsFaults: FaultType<any, any>[] = [ecsStopTask, redisAzPower, redisFailover, fisExperiment]
