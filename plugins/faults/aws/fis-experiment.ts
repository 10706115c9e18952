/**
 * aws.fis-experiment: start an existing FIS experiment template (one listed in the
 * environment's allow.fisTemplates) as a step, and wait until it runs — or completes. The
 * revert stops it if it is still running; the template is not gameday's and is left alone.
 *
 *   - fault: aws.fis-experiment
 *     with: { templateId: EXT1a2b3c4d5e6f7, waitFor: running }
 */
import { z } from 'zod'
import { defineFault, type FisRunState } from '../../../src/api/index.ts'
import { awsOf } from './aws.ts'

const TYPE = 'aws.fis-experiment'

export const FisExperimentParams = z.strictObject({
  templateId: z.string().min(1).describe('the FIS experiment template id (EXT...), listed in allow.fisTemplates'),
  waitFor: z.enum(['running', 'completed']).default('running').describe('inject returns once the experiment runs, or once it has completed'),
})

export type FisExperimentParams = z.infer<typeof FisExperimentParams>

export const fisExperiment = defineFault<FisExperimentParams, FisRunState | null>({
  type: TYPE,
  description: 'start an existing, allow-listed FIS experiment template and wait until it runs; revert stops it',
  targets: ['other'],
  params: FisExperimentParams,

  async resolve(ctx, spec) {
    const template = await awsOf(ctx, TYPE).fis.template(spec.params.templateId)
    if (template.stopConditions.every((s) => s === 'none')) ctx.log.warn(`${TYPE}: template ${template.id} has no stop condition`)
    return [
      {
        kind: 'other',
        id: template.id,
        description: template.description ?? '',
        actions: template.actions,
        targets: template.targets,
        stopConditions: template.stopConditions,
      },
    ]
  },

  describe(ctx, spec, targets) {
    const [start, ...rest] = awsOf(ctx, TYPE).fis.describeStart(spec.params.templateId, ctx.runId, TYPE)
    const t = targets[0]
    const what = t && Array.isArray(t.actions) ? ` (actions: ${(t.actions as string[]).join('; ')}; targets: ${(t.targets as string[]).join('; ')})` : ''
    return [`${start}${what}`, ...rest]
  },

  /** nothing journaled but the targets: revert finds this run's experiment of the template by tag */
  stateFromTargets: (targets): FisRunState => ({
    kind: 'fis',
    fault: TYPE,
    runId: null,
    templateId: targets[0]?.id ?? null,
    ownsTemplate: false,
    experimentId: null,
  }),

  async inject(ctx, spec) {
    const fis = awsOf(ctx, TYPE).fis
    await fis.template(spec.params.templateId)
    return fis.start(spec.params.templateId, { runId: ctx.runId, log: ctx.log, signal: ctx.signal }, { fault: TYPE, until: spec.params.waitFor })
  },

  async revert(ctx, spec, state) {
    // never delete the template: it is not gameday's
    await awsOf(ctx, TYPE).fis.revert(
      { ...(state ?? {}), templateId: spec.params.templateId, ownsTemplate: false },
      { runId: ctx.runId, log: ctx.log, fault: TYPE },
    )
  },
})
