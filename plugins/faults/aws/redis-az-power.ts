/**
 * redis.az-power: FIS aws:elasticache:replicationgroup-interrupt-az-power on the cache's
 * replication group for one AZ. Nodes in that AZ lose power; when the primary is there, the
 * replica with the least lag is promoted; replacements in the AZ are blocked until the action
 * ends. The revert stops the experiment (if still running), deletes the template and waits for
 * the group to be available again.
 *
 *   - fault: redis.az-power
 *     target: { cache: cache, az: az-b }     # az omitted: the AZ of the current primary
 *     with: { duration: 5m }
 */
import { z } from 'zod'
import {
  Duration,
  TargetError,
  ValidationError,
  defineFault,
  type AwsCapability,
  type FisRunState,
  type FisTemplateSpec,
  type ResolvedTarget,
} from '../../../src/api/index.ts'
import { awsOf } from './aws.ts'

const TYPE = 'redis.az-power'

export const RedisAzPowerParams = z
  .strictObject({
    duration: Duration.prefault('5m').describe('how long FIS keeps the AZ powered off (at least 1m); the revert ends it earlier'),
    waitForRecovery: z.boolean().default(true).describe('revert waits for the replication group to be available again'),
    recoveryTimeout: Duration.prefault('20m'),
  })
  .prefault({})

export type RedisAzPowerParams = z.infer<typeof RedisAzPowerParams>

function template(aws: AwsCapability, target: ResolvedTarget, durationMs: number): FisTemplateSpec {
  const tags = target.fisTargetTags as Record<string, string> | undefined
  if (!tags) throw new ValidationError(`${TYPE}: FIS selects replication groups by tag only: set caches.${target.cache}.fisTargetTags in the environment file`)
  return {
    fault: TYPE,
    description: `power off ${target.replicationGroup} in ${target.id} (${target.realAz})`,
    targets: {
      ReplicationGroups: {
        resourceType: 'aws:elasticache:replicationgroup',
        resourceTags: tags,
        parameters: { availabilityZoneIdentifier: String(target.realAz) },
        selectionMode: 'ALL',
      },
    },
    actions: {
      azPower: {
        actionId: 'aws:elasticache:replicationgroup-interrupt-az-power',
        description: `interrupt power of ${target.realAz}`,
        parameters: { duration: aws.fis.isoDuration(durationMs) },
        targets: { ReplicationGroups: 'ReplicationGroups' },
      },
    },
  }
}

export const redisAzPower = defineFault<RedisAzPowerParams, FisRunState | null>({
  type: TYPE,
  description: 'FIS aws:elasticache:replicationgroup-interrupt-az-power on the cache replication group for one AZ',
  targets: ['cache'],
  params: RedisAzPowerParams,

  async resolve(ctx, spec) {
    const aws = awsOf(ctx, TYPE)
    const cache = spec.target.cache
    if (!cache) throw new ValidationError(`${TYPE} needs target.cache`)
    const azs = spec.target.az === undefined ? [] : ([] as string[]).concat(spec.target.az)
    if (azs.length > 1) throw new ValidationError(`${TYPE} powers off one AZ at a time (FIS impairs one AZ per replication group)`)
    const info = await aws.elasticache.describe(cache)
    if (!info.multiAz || !info.automaticFailover) {
      throw new ValidationError(
        `${TYPE}: ${info.replicationGroupId} must have Multi-AZ and automatic failover enabled (MultiAZ ${info.multiAz ? 'on' : 'off'}, failover ${info.automaticFailover ? 'on' : 'off'})`,
      )
    }
    if (info.status !== 'available') throw new TargetError(`${TYPE}: ${info.replicationGroupId} is ${info.status}, not available`)
    const primary = info.members.find((m) => m.role === 'primary')
    const realAz = azs.length ? aws.realAz(azs[0]) : primary?.realAz
    if (!realAz) throw new TargetError(`${TYPE}: no AZ given and no primary found in ${info.replicationGroupId}`)
    const inAz = info.members.filter((m) => m.realAz === realAz)
    if (!inAz.length) throw new TargetError(`${TYPE}: ${info.replicationGroupId} has no node in ${realAz}`)
    ctx.log.info(`${TYPE}: ${info.replicationGroupId} in ${realAz}: ${inAz.map((m) => `${m.id}(${m.role})`).join(', ')}`)
    return [
      {
        kind: 'az',
        id: aws.logicalAz(realAz),
        realAz,
        cache,
        replicationGroup: info.replicationGroupId,
        members: inAz.map((m) => m.id),
        primaryInAz: inAz.some((m) => m.role === 'primary'),
        ...(info.fisTargetTags ? { fisTargetTags: info.fisTargetTags } : {}),
      },
    ]
  },

  describe(ctx, spec, targets) {
    const aws = awsOf(ctx, TYPE)
    return targets.flatMap((t) => aws.fis.describeRun(template(aws, t, spec.params.duration), ctx.runId))
  },

  /** nothing journaled but the targets: revert finds the experiment by the run-id and fault tags */
  stateFromTargets: (): FisRunState => ({ kind: 'fis', fault: TYPE, runId: null, templateId: null, ownsTemplate: true, experimentId: null }),

  async inject(ctx, spec, targets) {
    const aws = awsOf(ctx, TYPE)
    return aws.fis.run(template(aws, targets[0], spec.params.duration), { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
  },

  async revert(ctx, spec, state) {
    const aws = awsOf(ctx, TYPE)
    await aws.fis.revert(state, { runId: ctx.runId, log: ctx.log, fault: TYPE })
    if (spec.params.waitForRecovery && spec.target.cache) {
      const info = await aws.elasticache.waitAvailable(spec.target.cache, spec.params.recoveryTimeout, ctx.signal)
      ctx.log.info(`${TYPE}: ${info.replicationGroupId} is ${info.status}`)
    }
  },
})
