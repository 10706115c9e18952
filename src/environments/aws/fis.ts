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
  ListExperimentsCommand,
  ListExperimentTemplatesCommand,
  StartExperimentCommand,
  StopExperimentCommand,
  type CreateExperimentTemplateCommandInput,
  type CreateExperimentTemplateActionInput,
  type CreateExperimentTemplateTargetInput,
  type FisClient,
} from '@aws-sdk/client-fis'
import { randomUUID } from 'node:crypto'
import type { Logger } from '../../api/environment.ts'
import { AbortError, GamedayError } from '../../api/errors.ts'
import type { Json } from '../../api/fault.ts'
import { sleep, TimeoutError } from '../../util/abort.ts'
import type { AwsConfig } from './config.ts'

export const TAG_RUN_ID = 'gameday:run-id'
export const TAG_FAULT = 'gameday:fault'
export const TAG_MANAGED = 'gameday:managed-by'

/** States from which an experiment still acts (or will). */
export const ACTIVE_STATES = ['pending', 'initiating', 'running'] as const
const FINAL_STATES = ['completed', 'stopped', 'failed', 'cancelled']

/** What the journal keeps of an FIS experiment gameday started. */
export interface FisState {
  [key: string]: Json
  kind: 'fis'
  fault: string
  /** the run that started it (null: the run reverting it) */
  runId: string | null
  /** the template, when gameday created it (deleted on revert) */
  templateId: string | null
  /** whether gameday created the template (aws.fis-experiment runs templates it does not own) */
  ownsTemplate: boolean
  experimentId: string | null
}

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

export interface TemplateParts {
  fault: string
  description: string
  targets: Record<string, CreateExperimentTemplateTargetInput>
  actions: Record<string, CreateExperimentTemplateActionInput>
}

/** A complete CreateExperimentTemplate input: role, stop conditions and tags from the environment. */
export function buildTemplate(cfg: AwsConfig, runId: string, parts: TemplateParts): CreateExperimentTemplateCommandInput {
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

function kv(record: Record<string, string> | undefined): string {
  return Object.entries(record ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

/** The mutating calls running a template would make, one line each, for `plan`. */
export function describeTemplateRun(input: CreateExperimentTemplateCommandInput): string[] {
  const lines: string[] = []
  const targets = Object.entries(input.targets ?? {}).map(([name, t]) => {
    const what = t.resourceArns?.length ? `arns=[${t.resourceArns.join(',')}]` : t.resourceTags ? `tags={${kv(t.resourceTags)}}` : ''
    const params = t.parameters ? ` parameters={${kv(t.parameters)}}` : ''
    return `${name}(${t.resourceType} ${what}${params} selection=${t.selectionMode})`
  })
  const actions = Object.entries(input.actions ?? {}).map(
    ([name, a]) => `${name}(${a.actionId} {${kv(a.parameters)}} on ${Object.values(a.targets ?? {}).join(',')})`,
  )
  const stops = (input.stopConditions ?? []).map((s) => (s.source === 'none' ? 'none' : s.value)).join(',')
  lines.push(
    `fis:CreateExperimentTemplate roleArn=${input.roleArn} targets=[${targets.join('; ')}] actions=[${actions.join('; ')}] stopConditions=[${stops}] tags={${kv(input.tags)}}`,
  )
  lines.push(`fis:StartExperiment experimentTemplateId=<created> tags={${TAG_RUN_ID}=${input.tags?.[TAG_RUN_ID]},${TAG_FAULT}=${input.tags?.[TAG_FAULT]}}`)
  lines.push('fis:StopExperiment id=<started> (on revert or abort, if still running)')
  lines.push('fis:DeleteExperimentTemplate id=<created> (on revert)')
  return lines
}

export interface FisRunnerOptions {
  pollMs: number
  startTimeoutMs: number
  stopTimeoutMs: number
  /** the allow-list check every call goes through */
  guard: () => Promise<void>
}

export interface RunContext {
  runId: string
  log: Logger
  signal?: AbortSignal
}

function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? ''
}

export class FisRunner {
  constructor(
    private readonly fis: FisClient,
    private readonly opts: FisRunnerOptions,
  ) {}

  /** CreateExperimentTemplate → StartExperiment → wait until running. */
  async createAndStart(input: CreateExperimentTemplateCommandInput, ctx: RunContext): Promise<FisState> {
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

  /** StartExperiment on a template (created by gameday or not) and wait until it runs. */
  async start(templateId: string, ctx: RunContext, fault: string, ownsTemplate: boolean, until: 'running' | 'completed' = 'running'): Promise<FisState> {
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
    const state: FisState = { kind: 'fis', fault, runId: ctx.runId, templateId, ownsTemplate, experimentId }
    try {
      await this.waitFor(experimentId, until, ctx.signal)
    } catch (err) {
      // whatever went wrong (aborted, failed, timed out): leave nothing running behind
      await this.stopExperiment(experimentId, ctx.log).catch((stopErr) => ctx.log.warn(`fis: could not stop ${experimentId}: ${(stopErr as Error).message}`))
      throw err
    }
    return state
  }

  private async getState(experimentId: string): Promise<{ status: string; reason?: string }> {
    const got = await this.fis.send(new GetExperimentCommand({ id: experimentId }))
    return { status: got.experiment?.state?.status ?? 'unknown', reason: got.experiment?.state?.reason }
  }

  /** Polls GetExperiment until the experiment runs (or completes), bounded by fisStart. */
  async waitFor(experimentId: string, until: 'running' | 'completed', signal?: AbortSignal): Promise<string> {
    const timeoutMs = until === 'running' ? this.opts.startTimeoutMs : this.opts.startTimeoutMs + this.opts.stopTimeoutMs
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (signal?.aborted) throw new AbortError(`aborted while waiting for FIS experiment ${experimentId}`)
      const { status, reason } = await this.getState(experimentId)
      if (status === 'running' && until === 'running') return status
      if (status === 'completed') return status
      if (FINAL_STATES.includes(status)) {
        throw new FisExperimentError(`FIS experiment ${experimentId} ended ${status} before running${reason ? `: ${reason}` : ''}`)
      }
      if (Date.now() > deadline) throw new TimeoutError(`FIS experiment ${experimentId} still ${status} after ${timeoutMs}ms`)
      try {
        await sleep(this.opts.pollMs, signal)
      } catch {
        throw new AbortError(`aborted while waiting for FIS experiment ${experimentId}`)
      }
    }
  }

  /** StopExperiment when still active, then wait until it is final. Idempotent. */
  async stopExperiment(experimentId: string, log: Logger): Promise<string> {
    await this.opts.guard()
    let { status } = await this.getState(experimentId)
    if ((ACTIVE_STATES as readonly string[]).includes(status)) {
      try {
        await this.fis.send(new StopExperimentCommand({ id: experimentId }))
        log.info(`fis: stopping experiment ${experimentId} (was ${status})`)
      } catch (err) {
        // it may have finished between the two calls; the state below tells
        log.warn(`fis: StopExperiment ${experimentId}: ${(err as Error).message}`)
      }
    }
    const deadline = Date.now() + this.opts.stopTimeoutMs
    for (;;) {
      ;({ status } = await this.getState(experimentId))
      if (FINAL_STATES.includes(status)) return status
      if (Date.now() > deadline) throw new TimeoutError(`FIS experiment ${experimentId} still ${status} ${this.opts.stopTimeoutMs}ms after StopExperiment`)
      await sleep(this.opts.pollMs)
    }
  }

  async deleteTemplate(templateId: string, log: Logger): Promise<void> {
    await this.opts.guard()
    try {
      await this.fis.send(new DeleteExperimentTemplateCommand({ id: templateId }))
      log.info(`fis: deleted experiment template ${templateId}`)
    } catch (err) {
      if (errorName(err) === 'ResourceNotFoundException') return
      throw err
    }
  }

  /** Experiments of this run (and fault, and template) found by their tags, active ones only. */
  async findActiveExperiments(
    runId: string,
    filter: { fault?: string; templateId?: string } = {},
  ): Promise<{ id: string; templateId?: string; status: string }[]> {
    await this.opts.guard()
    const found: { id: string; templateId?: string; status: string }[] = []
    let nextToken: string | undefined
    do {
      const page = await this.fis.send(new ListExperimentsCommand({ maxResults: 100, nextToken }))
      for (const e of page.experiments ?? []) {
        if (!e.id || e.tags?.[TAG_RUN_ID] !== runId) continue
        if (filter.fault && e.tags?.[TAG_FAULT] !== filter.fault) continue
        if (filter.templateId && e.experimentTemplateId !== filter.templateId) continue
        const status = e.state?.status ?? 'unknown'
        if ((ACTIVE_STATES as readonly string[]).includes(status) || status === 'stopping') found.push({ id: e.id, templateId: e.experimentTemplateId, status })
      }
      nextToken = page.nextToken
    } while (nextToken)
    return found
  }

  async findTemplates(runId: string, fault?: string): Promise<string[]> {
    await this.opts.guard()
    const found: string[] = []
    let nextToken: string | undefined
    do {
      const page = await this.fis.send(new ListExperimentTemplatesCommand({ maxResults: 100, nextToken }))
      for (const t of page.experimentTemplates ?? []) {
        if (!t.id || t.tags?.[TAG_RUN_ID] !== runId) continue
        if (fault && t.tags?.[TAG_FAULT] !== fault) continue
        found.push(t.id)
      }
      nextToken = page.nextToken
    } while (nextToken)
    return found
  }

  /**
   * Undo an FIS fault from whatever the journal holds: the full state, a partial one, or
   * nothing at all (a crash between the first mutating call and the journaled state). What
   * the state lacks is found through the run-id and fault tags. Idempotent.
   */
  async revert(state: Partial<FisState> | null | undefined, ctx: RunContext & { fault: string }): Promise<void> {
    const runId = state?.runId ?? ctx.runId
    const fault = state?.fault ?? ctx.fault
    const ownsTemplate = state?.ownsTemplate ?? true
    const experiments = new Set<string>()
    if (state?.experimentId) experiments.add(state.experimentId)
    else {
      const filter = ownsTemplate ? { fault } : { fault, templateId: state?.templateId ?? undefined }
      for (const e of await this.findActiveExperiments(runId, filter)) experiments.add(e.id)
      if (experiments.size) ctx.log.info(`fis: found ${experiments.size} experiment(s) of run ${runId} (${fault}) by tag`)
    }
    for (const id of experiments) {
      const status = await this.stopExperiment(id, ctx.log)
      ctx.log.info(`fis: experiment ${id} is ${status}`)
    }
    if (!ownsTemplate) return
    const templates = new Set<string>()
    if (state?.templateId) templates.add(state.templateId)
    else for (const id of await this.findTemplates(runId, fault)) templates.add(id)
    for (const id of templates) await this.deleteTemplate(id, ctx.log)
  }
}
