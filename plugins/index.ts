/**
 * Every built-in probe and fault, registered the way a user's extension is. Each is a plugin:
 * it imports nothing of Gameday but the public API (src/api/index.ts — `npm run lint` fails
 * otherwise). A new one is a file here and one line in this list.
 */
import type { Extension } from '../src/api/index.ts'
import { requestSlo } from './probes/request-slo.ts'
import { natsClusterHealth } from './probes/nats-cluster-health.ts'
import { circuitBreaker } from './probes/circuit-breaker.ts'
import { drain } from './probes/drain.ts'
import { jetstreamDurability } from './probes/jetstream-durability.ts'
import { casCorrectness } from './probes/cas-correctness.ts'
import { streamConfig } from './probes/stream-config.ts'
import { prometheus } from './probes/metric/prometheus.ts'
import { cloudwatch } from './probes/metric/cloudwatch.ts'
import { taskHealth } from './probes/task-health.ts'
import { natsKillNode, natsPauseNode, natsRestartNode, natsStopNode } from './faults/nats-node.ts'
import { natsLameDuck } from './faults/nats-lame-duck.ts'
import { natsCorruptStore } from './faults/nats-store.ts'
import { natsBadCertificate, natsRotateCertificate } from './faults/nats-tls.ts'
import { networkPartition } from './faults/network.ts'
import { redisDown, redisKill, redisThrottle } from './faults/redis.ts'
import { redisClusterFailover, redisIsolatePrimary, redisKillPrimary } from './faults/redis-cluster.ts'
import { serviceKillTask, serviceRollingRestart, serviceStopTask } from './faults/service-task.ts'
import { ecsStopTask } from './faults/aws/ecs-stop-task.ts'
import { fisExperiment } from './faults/aws/fis-experiment.ts'
import { redisAzPower } from './faults/aws/redis-az-power.ts'
import { redisFailover } from './faults/aws/redis-failover.ts'

export const builtins: Extension = {
  probes: [requestSlo, natsClusterHealth, circuitBreaker, drain, jetstreamDurability, casCorrectness, streamConfig, prometheus, cloudwatch, taskHealth],
  faults: [
    natsKillNode,
    natsStopNode,
    natsRestartNode,
    natsPauseNode,
    natsLameDuck,
    natsCorruptStore,
    // NATS on the environment's own CA (the nats-tls capability)
    natsRotateCertificate,
    natsBadCertificate,
    networkPartition,
    redisThrottle,
    redisDown,
    redisKill,
    // a Redis Cluster's shards (caches with mode: cluster)
    redisKillPrimary,
    redisClusterFailover,
    redisIsolatePrimary,
    serviceStopTask,
    serviceKillTask,
    serviceRollingRestart,
    // AWS only: they need the environment's AWS capability
    ecsStopTask,
    redisAzPower,
    redisFailover,
    fisExperiment,
  ],
}
