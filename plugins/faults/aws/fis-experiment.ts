/**
 * aws.fis-experiment: start an existing FIS experiment template (one listed in the
 * environment's allow.fisTemplates) as a step, and wait until it runs — or completes. The
 * revert stops it if it is still running; the template is not gameday's and is left alone.
 *
 *   - fault: aws.fis-experiment
 *     with: { templateId: EXT1a2b3c4d5e6f7, waitFor: running }
 */
import { z } from 'zod'
// eslint-disable-next-line gameday/plugins-use-public-api -- TEMPORARY (issue 10): replaced by a typed capability / runtime schemas
import type { FisState } from '../../../src/environments/aws/fis.ts'
// eslint-disable-next-line gameday/plugins-use-public-api -- TEMPORARY (issue 10): replaced by a typed capability / runtime schemas
import { TAG_FAULT, TAG_RUN_ID } from '../../../src/environments/aws/fis.ts'
import { awsEnvironment } from './common.ts'
import { defineFault, type ResolvedTarget } from '../../../src/api/index.ts'

const TYPE = 'aws.fis-experiment'

export const FisExperimentParams = z.strictObject({
  templateId: z.string().min(1).describe('the FIS experiment template id (EXT...), listed in allow.fisTemplates'),
  waitFor: z.enum(['running', 'completed']).default('running').describe('inject returns once the experiment runs, or once it has completed'),
})

export type FisExperimentParams = z.infer<typeof FisExperimentParams>

export const fisExperiment = defineFault<FisExperimentParams, FisState | null>({
  type: TYPE,
  description: 'start an existing, allow-listed FIS experiment template and wait until it runs; revert stops it',
  targets: ['other'],
  params: FisExperimentParams,

  async resolve(ctx, spec) {
    const aws = awsEnvironment(ctx, TYPE)
    const template = await aws.getFisTemplate(spec.params.templateId)
    const stops = (template.stopConditions ?? []).map((s) => (s.source === 'none' ? 'none' : (s.value ?? s.source ?? '?')))
    if (!stops.length || stops.every((s) => s === 'none')) ctx.log.warn(`${TYPE}: template ${spec.params.templateId} has no stop condition`)
    const target: ResolvedTarget = {
      kind: 'other',
      id: spec.params.templateId,
      description: template.description ?? '',
      actions: Object.values(template.actions ?? {}).map(
        (a) =>
          `${a.actionId}${
            a.parameters
              ? ` {${Object.entries(a.parameters)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(',')}}`
              : ''
          }`,
      ),
      targets: Object.entries(template.targets ?? {}).map(([name, t]) =>
        `${name}: ${t.resourceType} ${
          t.resourceArns?.length
            ? `arns=[${t.resourceArns.join(',')}]`
            : `tags={${Object.entries(t.resourceTags ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(',')}}`
        } ${t.selectionMode ?? ''}`.trim(),
      ),
      stopConditions: stops,
    }
    return [target]
  },

  describe(ctx, spec, targets) {
    const t = targets[0]
    const what = t && Array.isArray(t.actions) ? ` (actions: ${(t.actions as string[]).join('; ')}; targets: ${(t.targets as string[]).join('; ')})` : ''
    return [
      `fis:StartExperiment experimentTemplateId=${spec.params.templateId} tags={${TAG_RUN_ID}=${ctx.runId},${TAG_FAULT}=${TYPE}}${what}`,
      `fis:StopExperiment id=<started> (on revert or abort, if still running)`,
    ]
  },

  /** nothing journaled but the targets: revert finds this run's experiment of the template by tag */
  stateFromTargets: (targets): FisState => ({
    kind: 'fis',
    fault: TYPE,
    runId: null,
    templateId: targets[0]?.id ?? null,
    ownsTemplate: false,
    experimentId: null,
  }),

  async inject(ctx, spec) {
    const aws = awsEnvironment(ctx, TYPE)
    await aws.getFisTemplate(spec.params.templateId)
    return aws.fisRunner.start(spec.params.templateId, { runId: ctx.runId, log: ctx.log, signal: ctx.signal }, TYPE, false, spec.params.waitFor)
  },

  async revert(ctx, spec, state) {
    const aws = awsEnvironment(ctx, TYPE)
    // never delete the template: it is not gameday's
    await aws.fisRunner.revert({ ...(state ?? {}), templateId: spec.params.templateId, ownsTemplate: false }, { runId: ctx.runId, log: ctx.log, fault: TYPE })
  },
})
