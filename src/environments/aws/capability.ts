/**
 * The AWS capability (src/api/aws.ts) over the environment's parts: what AWS-only faults and
 * probes reach AWS through. FIS calls go through the same runner — and the same guardrails — as the network
 * part's; existing templates only when allow-listed.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { GetExperimentTemplateCommand, type FisClient } from '@aws-sdk/client-fis'
import type { AwsCapability, AwsFis, FisTemplateInfo } from '../../api/aws.ts'
import { AllowListError, TargetError } from '../../api/errors.ts'
import { logicalAz, realAz } from './azs.ts'
import type { AwsCaches } from './caches.ts'
import { cloudWatchMetrics } from './cloudwatch.ts'
import type { AwsConfig } from './config.ts'
import { buildTemplate, describeTemplateRun, isoDuration, kv, TAG_FAULT, TAG_RUN_ID, type FisRunner } from './fis.ts'
import type { AwsGuard } from './guardrails.ts'
import type { AwsTasks } from './tasks.ts'

function awsFis(config: AwsConfig, client: FisClient, runner: FisRunner, guard: AwsGuard): AwsFis {
  return {
    isoDuration,
    describeRun: (template, runId) => describeTemplateRun(buildTemplate(config, runId, template)),
    run: (template, ctx) => runner.createAndStart(buildTemplate(config, ctx.runId, template), ctx),

    async template(id): Promise<FisTemplateInfo> {
      if (!config.allow.fisTemplates.includes(id)) {
        throw new AllowListError(`FIS template ${id} is not in allow.fisTemplates [${config.allow.fisTemplates.join(', ')}]`)
      }
      await guard.check()
      const template = (await client.send(new GetExperimentTemplateCommand({ id }))).experimentTemplate
      if (!template) throw new TargetError(`FIS template ${id} not found`)
      if (template.roleArn) guard.arn(template.roleArn)
      for (const target of Object.values(template.targets ?? {})) for (const arn of target.resourceArns ?? []) guard.arn(arn)
      const stops = (template.stopConditions ?? []).map((s) => (s.source === 'none' ? 'none' : (s.value ?? s.source ?? '?')))
      return {
        id,
        ...(template.description ? { description: template.description } : {}),
        actions: Object.values(template.actions ?? {}).map((a) => `${a.actionId}${a.parameters ? ` {${kv(a.parameters)}}` : ''}`),
        targets: Object.entries(template.targets ?? {}).map(([name, t]) =>
          `${name}: ${t.resourceType} ${t.resourceArns?.length ? `arns=[${t.resourceArns.join(',')}]` : `tags={${kv(t.resourceTags)}}`} ${t.selectionMode ?? ''}`.trim(),
        ),
        stopConditions: stops.length ? stops : ['none'],
      }
    },

    describeStart: (templateId, runId, fault) => [
      `fis:StartExperiment experimentTemplateId=${templateId} tags={${TAG_RUN_ID}=${runId},${TAG_FAULT}=${fault}}`,
      'fis:StopExperiment id=<started> (on revert or abort, if still running)',
    ],
    start: (templateId, ctx, opts) => runner.start(templateId, ctx, opts.fault, false, opts.until),
    revert: (state, ctx) => runner.revert(state, ctx),
  }
}

export function awsCapability(parts: {
  config: AwsConfig
  cloudwatchClient: CloudWatchClient
  fisClient: FisClient
  fis: FisRunner
  guard: AwsGuard
  caches: AwsCaches
  tasks: AwsTasks
}): AwsCapability {
  const { config } = parts
  return {
    region: config.region,
    accountId: config.accountId,
    realAz: (az) => realAz(config, az),
    logicalAz: (az) => logicalAz(config, az),
    fis: awsFis(config, parts.fisClient, parts.fis, parts.guard),
    elasticache: parts.caches,
    ecs: parts.tasks,
    cloudwatch: cloudWatchMetrics(parts.cloudwatchClient, () => parts.guard.check()),
  }
}
