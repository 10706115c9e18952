/**
 * AWS FIS plumbing shared by the AWS network controls and faults: experiment templates built
 * from data, described for `plan` without being sent, started and watched until running, and
 * stopped and cleaned up from a journaled state — or, after a crash, from the run-id tag alone.
 *
 * Every template and experiment gameday creates carries `gameday:run-id` (the run) and
 * `gameday:fault` (the fault type), so `gameday recover RUN_DIR` finds them with no other state.
 */
import {
  CreateExperimentTemplateCommand,
  DeleteExperimentTemplateCommand,
  GetExperimentCommand,
  GetExperimentTemplateCommand,
  ListExperimentsCommand,
  ListExperimentTemplatesCommand,
  StartExperimentCommand,
  StopExperimentCommand,
  type CreateExperimentTemplateCommandInput,
  type FisClient,
} from '@aws-sdk/client-fis'
import { randomUUID } from 'node:crypto'
import type { FisRevertOutcome, FisRunState, FisTemplateSpec } from '../../api/aws.ts'
import type { ControlContext, Logger } from '../../api/environment.ts'
import { AbortError, GamedayError } from '../../api/errors.ts'
import type { AwsConfig } from './config.ts'
import { pollUntil } from './poll.ts'

export const TAG_RUN_ID = 'gameday:run-id'
export const TAG_FAULT = 'gameday:fault'
export const TAG_MANAGED = 'gameday:managed-by'

/** States from which an experiment still acts (or will). */
export const ACTIVE_STATES = ['pending', 'initiating', 'running', 'stopping']
const FINAL_STATES = ['completed', 'stopped', 'failed', 'cancelled']

export class FisExperimentError extends GamedayError {
  override name = 'FisExperimentError'
}

/** FIS durations are ISO 8601, at least one minute. */
export function isoDuration(ms: number): string {
  const seconds = Math.max(60, Math.ceil(ms / 1000))
  if (seconds % 3600 === 0) return `PT${seconds / 3600}H`
  if (seconds % 60 === 0) return `PT${seconds / 60}M`
  return `PT${seconds}S`
}

/** A complete CreateExperimentTemplate input: role, stop conditions and tags from the environment. */
export function buildTemplate(cfg: AwsConfig, runId: string, parts: FisTemplateSpec): CreateExperimentTemplateCommandInput {
  if (!cfg.fis) throw new GamedayError('this fault needs AWS FIS: set fis.roleArn in the environment file')
  const input: CreateExperimentTemplateCommandInput = {
    clientToken: randomUUID(),
    description: `gameday ${runId}: ${parts.description}`.slice(0, 512),
    roleArn: cfg.fis.roleArn,
    stopConditions: cfg.stopConditions.length ? cfg.stopConditions.map((value) => ({ source: 'aws:cloudwatch:alarm', value })) : [{ source: 'none' }],
    targets: parts.targets,
    actions: parts.actions,
    tags: { [TAG_RUN_ID]: runId, [TAG_FAULT]: parts.fault, [TAG_MANAGED]: 'gameday', Name: `gameday-${parts.fault}-${runId}`.slice(0, 128) },
    experimentOptions: { accountTargeting: 'single-account', emptyTargetResolutionMode: 'fail' },
  }
  if (cfg.fis.logGroupArn) {
    input.logConfiguration = { cloudWatchLogsConfiguration: { logGroupArn: cfg.fis.logGroupArn }, logSchemaVersion: 2 }
  }
  return input
}

/** `k=v,k=v`: how plan prints FIS parameters and tags */
export function kv(record: Record<string, string> | undefined): string {
  return Object.entries(record ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

/** The CreateExperimentTemplate call as one line: what plan prints, and what a test renders a sent call with. */
export function describeCreateTemplate(
  input: Pick<CreateExperimentTemplateCommandInput, 'roleArn' | 'targets' | 'actions' | 'stopConditions' | 'tags'>,
): string {
  const targets = Object.entries(input.targets ?? {}).map(([name, t]) => {
    const what = t.resourceArns?.length ? `arns=[${t.resourceArns.join(',')}]` : t.resourceTags ? `tags={${kv(t.resourceTags)}}` : ''
    const params = t.parameters ? ` parameters={${kv(t.parameters)}}` : ''
    return `${name}(${t.resourceType} ${what}${params} selection=${t.selectionMode})`
  })
  const actions = Object.entries(input.actions ?? {}).map(
    ([name, a]) => `${name}(${a.actionId} {${kv(a.parameters)}} on ${Object.values(a.targets ?? {}).join(',')})`,
  )
  const stops = (input.stopConditions ?? []).map((s) => (s.source === 'none' ? 'none' : s.value)).join(',')
  return `fis:CreateExperimentTemplate roleArn=${input.roleArn} targets=[${targets.join('; ')}] actions=[${actions.join('; ')}] stopConditions=[${stops}] tags={${kv(input.tags)}}`
}

/** The calls running a template makes, one line each, for `plan`. */
export function describeTemplateRun(input: CreateExperimentTemplateCommandInput): string[] {
  return [
    describeCreateTemplate(input),
    `fis:StartExperiment experimentTemplateId=<created> tags={${TAG_RUN_ID}=${input.tags?.[TAG_RUN_ID]},${TAG_FAULT}=${input.tags?.[TAG_FAULT]}}`,
    'fis:StopExperiment id=<started> (on revert or abort, if still running)',
    'fis:DeleteExperimentTemplate id=<created> (on revert)',
  ]
}

export interface FisRunnerOptions {
  config: Pick<AwsConfig, 'pollInterval' | 'maxPollInterval' | 'timeouts'>
  /** the allow-list check every call goes through */
  guard: () => Promise<void>
}

const notFound = (err: unknown) => (err as { name?: string })?.name === 'ResourceNotFoundException'

export class FisRunner {
  constructor(
    private readonly fis: FisClient,
    private readonly opts: FisRunnerOptions,
  ) {}

  private get timeouts() {
    return this.opts.config.timeouts
  }

  /** CreateExperimentTemplate → StartExperiment → wait until running; a failure deletes the template again. */
  async createAndStart(input: CreateExperimentTemplateCommandInput, ctx: ControlContext): Promise<FisRunState> {
    await this.opts.guard()
    const fault = input.tags?.[TAG_FAULT] ?? 'unknown'
    const created = await this.fis.send(new CreateExperimentTemplateCommand(input))
    const templateId = created.experimentTemplate?.id
    if (!templateId) throw new FisExperimentError('fis:CreateExperimentTemplate returned no template id')
    ctx.log.info(`fis: created experiment template ${templateId} for ${fault}`)
    try {
      return await this.start(templateId, ctx, fault, true)
    } catch (err) {
      await this.deleteTemplate(templateId, ctx.log)
      throw err
    }
  }

  /** StartExperiment on a template (created by gameday or not), tagged with the run, and wait until it runs (or completes). */
  async start(templateId: string, ctx: ControlContext, fault: string, ownsTemplate: boolean, until: 'running' | 'completed' = 'running'): Promise<FisRunState> {
    await this.opts.guard()
    const started = await this.fis.send(
      new StartExperimentCommand({
        experimentTemplateId: templateId,
        clientToken: randomUUID(),
        tags: { [TAG_RUN_ID]: ctx.runId, [TAG_FAULT]: fault, [TAG_MANAGED]: 'gameday' },
      }),
    )
    const experimentId = started.experiment?.id
    if (!experimentId) throw new FisExperimentError(`fis:StartExperiment on ${templateId} returned no experiment id`)
    ctx.log.info(`fis: started experiment ${experimentId} (template ${templateId})`)
    try {
      await this.waitFor(experimentId, until, ctx.signal)
    } catch (err) {
      // whatever went wrong (aborted, failed, timed out): leave nothing running behind
      await this.stopExperiment(experimentId, ctx.log).catch((stopErr) => ctx.log.warn(`fis: could not stop ${experimentId}: ${(stopErr as Error).message}`))
      throw err
    }
    return { kind: 'fis', fault, runId: ctx.runId, templateId, ownsTemplate, experimentId }
  }

  /** The experiment's state; `gone` when FIS no longer knows it. */
  private async status(experimentId: string): Promise<{ status: string; reason?: string }> {
    try {
      const got = await this.fis.send(new GetExperimentCommand({ id: experimentId }))
      return { status: got.experiment?.state?.status ?? 'unknown', reason: got.experiment?.state?.reason }
    } catch (err) {
      if (notFound(err)) return { status: 'gone' }
      throw err
    }
  }

  /** Polls GetExperiment until the experiment runs (or completes), bounded by timeouts.fisStart. */
  async waitFor(experimentId: string, until: 'running' | 'completed', signal?: AbortSignal): Promise<string> {
    const timeoutMs = until === 'running' ? this.timeouts.fisStart : this.timeouts.fisStart + this.timeouts.fisStop
    let last = 'unknown'
    try {
      return await pollUntil(
        this.opts.config,
        async () => {
          const { status, reason } = await this.status(experimentId)
          last = status
          if ((status === 'running' && until === 'running') || status === 'completed') return status
          if (FINAL_STATES.includes(status) || status === 'gone') {
            throw new FisExperimentError(`FIS experiment ${experimentId} ended ${status} before running${reason ? `: ${reason}` : ''}`)
          }
          return undefined
        },
        { timeoutMs, signal, timeoutMessage: (ms) => `FIS experiment ${experimentId} still ${last} after ${ms}ms` },
      )
    } catch (err) {
      if (signal?.aborted) throw new AbortError(`aborted while waiting for FIS experiment ${experimentId}`, { cause: err })
      throw err
    }
  }

  /** StopExperiment when still active, then wait until it is final. Idempotent: returns the state it found and the one it left. */
  async stopExperiment(experimentId: string, log: Logger): Promise<{ was: string; now: string }> {
    await this.opts.guard()
    const was = (await this.status(experimentId)).status
    if (ACTIVE_STATES.includes(was) && was !== 'stopping') {
      try {
        await this.fis.send(new StopExperimentCommand({ id: experimentId }))
        log.info(`fis: stopping experiment ${experimentId} (was ${was})`)
      } catch (err) {
        // it may have ended between the two calls; the state below tells
        log.warn(`fis: StopExperiment ${experimentId}: ${(err as Error).message}`)
      }
    }
    let now = was
    await pollUntil(
      this.opts.config,
      async () => {
        now = (await this.status(experimentId)).status
        return FINAL_STATES.includes(now) || now === 'gone' ? now : undefined
      },
      { timeoutMs: this.timeouts.fisStop, timeoutMessage: (ms) => `FIS experiment ${experimentId} still ${now} ${ms}ms after StopExperiment` },
    )
    return { was, now }
  }

  /** DeleteExperimentTemplate; false when it was already gone. */
  async deleteTemplate(templateId: string, log: Logger): Promise<boolean> {
    await this.opts.guard()
    try {
      await this.fis.send(new DeleteExperimentTemplateCommand({ id: templateId }))
      log.info(`fis: deleted experiment template ${templateId}`)
      return true
    } catch (err) {
      if (notFound(err)) return false
      throw err
    }
  }

  /** Whether a template exists (GetExperimentTemplate), so a revert never deletes one twice. */
  async templateExists(templateId: string): Promise<boolean> {
    await this.opts.guard()
    try {
      await this.fis.send(new GetExperimentTemplateCommand({ id: templateId }))
      return true
    } catch (err) {
      if (notFound(err)) return false
      throw err
    }
  }

  /** Experiments of this run (and fault, and template) found by their tags, in any state. */
  async findExperiments(runId: string, filter: { fault?: string; templateId?: string } = {}): Promise<{ id: string; status: string }[]> {
    await this.opts.guard()
    const found: { id: string; status: string }[] = []
    let nextToken: string | undefined
    do {
      const page = await this.fis.send(new ListExperimentsCommand({ maxResults: 100, nextToken }))
      for (const e of page.experiments ?? []) {
        if (!e.id || e.tags?.[TAG_RUN_ID] !== runId) continue
        if (filter.fault && e.tags?.[TAG_FAULT] !== filter.fault) continue
        if (filter.templateId && e.experimentTemplateId !== filter.templateId) continue
        found.push({ id: e.id, status: e.state?.status ?? 'unknown' })
      }
      nextToken = page.nextToken
    } while (nextToken)
    return found
  }

  /** Templates gameday created for this run (and fault), found by their tags. */
  async findTemplates(runId: string, fault?: string): Promise<string[]> {
    await this.opts.guard()
    const found: string[] = []
    let nextToken: string | undefined
    do {
      const page = await this.fis.send(new ListExperimentTemplatesCommand({ maxResults: 100, nextToken }))
      for (const t of page.experimentTemplates ?? []) {
        if (!t.id || t.tags?.[TAG_RUN_ID] !== runId || t.tags?.[TAG_MANAGED] !== 'gameday') continue
        if (fault && t.tags?.[TAG_FAULT] !== fault) continue
        found.push(t.id)
      }
      nextToken = page.nextToken
    } while (nextToken)
    return found
  }

  /**
   * Undo a FIS fault from whatever the journal holds: the full state, a partial one, or nothing
   * (the run died between its first mutating call and journaling the ids). What the state lacks
   * is found through the run-id and fault tags. Every experiment found is left in a final state
   * (verified), and only templates that still exist are deleted: a second revert changes nothing
   * and says so.
   */
  async revert(state: Partial<FisRunState> | null | undefined, ctx: ControlContext & { fault: string }): Promise<FisRevertOutcome> {
    const runId = state?.runId ?? ctx.runId
    const fault = state?.fault ?? ctx.fault
    const ownsTemplate = state?.ownsTemplate ?? true
    const outcome: FisRevertOutcome = { stopped: [], alreadyEnded: [], deletedTemplates: [], summary: '' }

    const experiments = state?.experimentId
      ? [state.experimentId]
      : (await this.findExperiments(runId, ownsTemplate ? { fault } : { fault, templateId: state?.templateId ?? undefined })).map((e) => e.id)
    for (const id of experiments) {
      const { was, now } = await this.stopExperiment(id, ctx.log)
      if (ACTIVE_STATES.includes(was)) outcome.stopped.push(id)
      else outcome.alreadyEnded.push(id)
      if (now === 'gone') ctx.log.info(`fis: experiment ${id} is no longer known to FIS`)
    }

    if (ownsTemplate) {
      const templates = state?.templateId ? [state.templateId] : await this.findTemplates(runId, fault)
      for (const id of templates) {
        if ((await this.templateExists(id)) && (await this.deleteTemplate(id, ctx.log))) outcome.deletedTemplates.push(id)
      }
    }

    const parts = [
      outcome.stopped.length ? `stopped ${outcome.stopped.join(', ')}` : '',
      outcome.alreadyEnded.length ? `${outcome.alreadyEnded.join(', ')} had already ended` : '',
      outcome.deletedTemplates.length ? `deleted template ${outcome.deletedTemplates.join(', ')}` : '',
    ].filter(Boolean)
    outcome.summary = parts.length
      ? `fis (${fault}, run ${runId}): ${parts.join('; ')}`
      : `fis (${fault}, run ${runId}): nothing to undo — no experiment ${experiments.length ? 'left acting' : 'found'}, no template left`
    ctx.log.info(outcome.summary)
    return outcome
  }
}
