/**
 * Faults on a service's tasks, through `env.tasks` only, so they run alike on local processes,
 * containers and ECS:
 *
 *   service.stop-task        graceful stop (SIGTERM, SIGKILL after the grace; docker stop; ECS StopTask)
 *                            of a count or percent of the tasks, picked with the step's seeded stream
 *   service.kill-task        the same pick, killed at once (SIGKILL; docker kill)
 *   service.rolling-restart  one task at a time: stop it, wait for its replacement to be ready, next
 *
 * What happens in between — the task draining, the platform starting a replacement, the load
 * balancer moving traffic — is the thing under test. Each stop leaves timing evidence in the
 * journal: how long the stop took, how long until a replacement was ready, and (where the
 * environment keeps task history) the task's own drain report and whether it had to be killed.
 * Revert waits until the service runs its desired number of ready tasks again.
 *
 *   - fault: service.stop-task
 *     target: { service: ai-integration, percent: 50 }
 *     with: { grace: 10s }
 */
import { z } from 'zod'
import {
  backoff,
  defineFault,
  Duration,
  formatDuration,
  resolveTasks,
  sleep,
  TargetError,
  taskTargets,
  writeDuration,
  type FaultContext,
  type FaultType,
  type Json,
  type ResolvedTarget,
  type TaskInfo,
  type TaskLifecycle,
} from '../../src/api/index.ts'

export interface TasksState {
  [key: string]: Json
  service: string
  tasks: string[]
}

/** The timing of one stop, as journaled (evidence kind `task.stopped`). */
export interface StopTiming {
  service: string
  task: string
  az?: string
  action: 'stop' | 'kill'
  /** wall clock when the stop was asked for */
  requestedAt: string
  /** until the environment said the task was gone (local: the process exited; ECS: StopTask returned) */
  stopMs: number
  /** from the request to the recorded exit, where the environment keeps task history */
  exitedAfterMs?: number
  /** from the task's `draining` to its exit */
  drainMs?: number
  exitCode?: number | null
  exitSignal?: string | null
  /** the grace ran out: the task was killed, not drained */
  killedAfterGrace?: boolean
  /** what the task reported on its way out (in flight at stop, drained, abandoned, dropped) */
  stopReport?: Json
  replacement?: string
  /** from the request until the replacement was ready */
  replacementReadyMs?: number
  /** service.rolling-restart: the task's place in the roll */
  step?: number
  summary: string
}

const Recovery = {
  recoveryTimeout: Duration.prefault('2m').describe('how long to wait for replacements and, on revert, for the desired count'),
  waitForReplacement: z.boolean().default(true).describe('inject waits until every stopped task has a ready replacement, and records when'),
}

const StopParams = z.strictObject({
  grace: Duration.optional().describe("SIGTERM → SIGKILL grace (default: the environment's stop timeout; ECS uses the task definition's)"),
  ...Recovery,
})
const KillParams = z.strictObject({ ...Recovery })
const RollingParams = z.strictObject({
  grace: StopParams.shape.grace,
  recoveryTimeout: Duration.prefault('2m').describe('how long to wait for each replacement, and on revert for the desired count'),
  pause: Duration.prefault(0).describe('pause after each replacement is ready, before the next task'),
})

type StopP = z.infer<typeof StopParams>
type KillP = z.infer<typeof KillParams>
type RollingP = z.infer<typeof RollingParams>

const since = (start: number, iso?: string) => (iso ? Math.max(0, Date.parse(iso) - start) : undefined)

function serviceOf(targets: ResolvedTarget[], fallback?: string): string {
  const service = String(targets[0]?.service ?? fallback ?? '')
  if (!service) throw new TargetError('no service to act on (target: { service: ... })')
  return service
}

function tasksFromTargets(targets: ResolvedTarget[]): TaskInfo[] {
  return targets.map((t) => ({ service: String(t.service), id: t.id, state: 'RUNNING', ...(t.az ? { az: String(t.az) } : {}) }))
}

/**
 * Waits until `count` tasks of the service that were not in `known` are RUNNING (ready), by
 * listing the service — env-agnostic. Returns them with the time each was first seen ready;
 * fewer than `count` when the deadline passed first.
 */
export async function waitForNewTasks(
  ctx: FaultContext,
  service: string,
  known: Set<string>,
  count: number,
  timeoutMs: number,
): Promise<{ id: string; seenAt: number }[]> {
  const seen = new Map<string, number>()
  const deadline = Date.now() + timeoutMs
  // an environment whose API is rate-limited (ECS) says how often it may be asked; processes may be asked every 100 ms
  const first = ctx.env.tasks.pollIntervalMs
  const pause = first ? backoff(first, { maxMs: first * 3 }) : () => 100
  for (;;) {
    for (const t of await ctx.env.tasks.list(service)) {
      if (!known.has(t.id) && t.state === 'RUNNING' && !seen.has(t.id)) seen.set(t.id, Date.now())
    }
    if (seen.size >= count || Date.now() > deadline) break
    await sleep(Math.min(pause(), Math.max(1, deadline - Date.now())), ctx.signal)
  }
  return [...seen.entries()].map(([id, seenAt]) => ({ id, seenAt })).sort((a, b) => a.seenAt - b.seenAt)
}

async function history(ctx: FaultContext, service: string): Promise<TaskLifecycle[] | undefined> {
  try {
    return await ctx.env.tasks.history?.(service)
  } catch (err) {
    ctx.log.warn(`  could not read the task history of ${service}: ${(err as Error).message}`)
    return undefined
  }
}

interface Stopped {
  task: TaskInfo
  action: 'stop' | 'kill'
  requestedAt: number
  stopMs: number
}

/** Builds the timing records of some stops, with their replacements, refined by the task history when there is one. */
export function stopTimings(stops: Stopped[], replacements: { id: string; seenAt: number }[], hist: TaskLifecycle[] | undefined): StopTiming[] {
  const byId = new Map((hist ?? []).map((h) => [h.id, h]))
  // exact ready times where history has them; the first replacement ready goes with the first stop asked for
  const ready = replacements
    .map((r) => ({ id: r.id, readyAt: byId.get(r.id)?.readyAt ? Date.parse(byId.get(r.id)!.readyAt!) : r.seenAt }))
    .sort((a, b) => a.readyAt - b.readyAt)
  return [...stops]
    .sort((a, b) => a.requestedAt - b.requestedAt)
    .map((s, i): StopTiming => {
      const h = byId.get(s.task.id)
      const exitedAfterMs = since(s.requestedAt, h?.stoppedAt)
      const drainMs = h?.drainingAt && h.stoppedAt ? Math.max(0, Date.parse(h.stoppedAt) - Date.parse(h.drainingAt)) : undefined
      const killedAfterGrace = s.action === 'stop' && h?.state === 'STOPPED' ? h.exitSignal === 'SIGKILL' : undefined
      const r = ready[i]
      const replacementReadyMs = r ? Math.max(0, r.readyAt - s.requestedAt) : undefined
      const report = h?.stopReport ? stopReportFigures(h.stopReport) : undefined
      const inFlight = report && typeof report.inFlightAtStop === 'number' ? report.inFlightAtStop : undefined
      const how =
        s.action === 'kill'
          ? 'SIGKILL'
          : killedAfterGrace
            ? 'SIGTERM, killed after the grace'
            : h?.stoppedAt
              ? `SIGTERM → exited ${h.exitCode ?? h.exitSignal ?? '?'}${drainMs !== undefined ? ` ${formatDuration(drainMs)} after it began draining` : ''}` +
                (inFlight !== undefined
                  ? ` (${inFlight} in flight at the stop${report!.dropped ? `, ${report!.dropped} dropped` : ''}${report!.abandoned ? `, ${report!.abandoned} abandoned` : ''})`
                  : '')
              : 'stop requested'
      const summary =
        `${s.task.id}: ${how}; stop took ${formatDuration(exitedAfterMs ?? s.stopMs)}; ` +
        (r ? `replacement ${r.id} ready after ${formatDuration(replacementReadyMs!)}` : 'no replacement seen')
      return {
        service: s.task.service,
        task: s.task.id,
        ...(s.task.az ? { az: s.task.az } : {}),
        action: s.action,
        requestedAt: new Date(s.requestedAt).toISOString(),
        stopMs: Math.round(s.stopMs),
        ...(exitedAfterMs !== undefined ? { exitedAfterMs } : {}),
        ...(drainMs !== undefined ? { drainMs } : {}),
        ...(h?.state === 'STOPPED' ? { exitCode: h.exitCode ?? null, exitSignal: h.exitSignal ?? null } : {}),
        ...(killedAfterGrace !== undefined ? { killedAfterGrace } : {}),
        ...(report ? { stopReport: report } : {}),
        ...(r ? { replacement: r.id, replacementReadyMs } : {}),
        summary,
      }
    })
}

/** The task's own figures from its `stopped` report, without the log line's envelope. */
function stopReportFigures(report: Record<string, unknown>): Record<string, Json> {
  const out: Record<string, Json> = {}
  for (const [k, v] of Object.entries(report)) {
    if (['at', 'level', 'service', 'task', 'event', 'msg'].includes(k)) continue
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v as Json
  }
  return out
}

async function stopOne(ctx: FaultContext, task: TaskInfo, action: 'stop' | 'kill', graceMs?: number): Promise<Stopped> {
  const requestedAt = Date.now()
  if (action === 'kill') await ctx.env.tasks.kill(task)
  else await ctx.env.tasks.stop(task, { ...(graceMs !== undefined ? { graceMs } : {}), reason: `gameday ${ctx.runId}` })
  return { task, action, requestedAt, stopMs: Date.now() - requestedAt }
}

/** The stop or kill of one task as the environment carries it out (the exact ECS call on AWS), else the generic words. */
function describeStop(ctx: FaultContext, action: 'stop' | 'kill', task: TaskInfo, graceMs: number | undefined, generic: string): string[] {
  const how = { ...(graceMs !== undefined ? { graceMs } : {}), ...(action === 'stop' ? { reason: `gameday ${ctx.runId}` } : {}) }
  return ctx.env.tasks.describe?.(action, task, how) ?? [generic]
}

function record(ctx: FaultContext, type: string, timings: StopTiming[]): void {
  for (const t of timings) {
    ctx.log.info(`  ${type}: ${t.summary}`)
    ctx.evidence('task.stopped', t as unknown as Json)
  }
}

async function waitForDesired(ctx: FaultContext, service: string, timeoutMs: number): Promise<void> {
  const started = Date.now()
  await ctx.env.tasks.waitForDesired(service, timeoutMs, ctx.signal)
  ctx.log.info(`  ${service} runs its desired count of ready tasks again (waited ${Math.round(Date.now() - started)}ms)`)
}

function taskFault<P extends StopP | KillP>(opts: {
  type: string
  description: string
  action: 'stop' | 'kill'
  params: z.ZodType<P>
}): FaultType<P, TasksState | null> {
  return defineFault<P, TasksState | null>({
    type: opts.type,
    description: opts.description,
    targets: ['task'],
    params: opts.params,
    resolve: async (ctx, spec) => taskTargets(await resolveTasks(ctx, spec.target)),
    describe: (ctx, spec, targets) => {
      const graceMs = 'grace' in spec.params ? spec.params.grace : undefined
      const grace = graceMs !== undefined ? ` (SIGKILL after ${writeDuration(graceMs)})` : ''
      return [
        ...tasksFromTargets(targets).flatMap((t) =>
          describeStop(
            ctx,
            opts.action,
            t,
            graceMs,
            `${opts.action === 'kill' ? 'kill (SIGKILL)' : `stop (SIGTERM${grace})`} task ${t.id} of ${t.service}${t.az ? ` in ${t.az}` : ''}`,
          ),
        ),
        ...(spec.params.waitForReplacement
          ? [`wait for ${targets.length} replacement task(s) to be ready, within ${writeDuration(spec.params.recoveryTimeout)}`]
          : []),
        `(revert) wait until ${serviceOf(targets, spec.target.service)} runs its desired count of ready tasks, within ${writeDuration(spec.params.recoveryTimeout)}`,
      ]
    },
    inject: async (ctx, spec, targets) => {
      const service = serviceOf(targets, spec.target.service)
      const tasks = tasksFromTargets(targets)
      const known = new Set([...(await ctx.env.tasks.list(service)).map((t) => t.id), ...tasks.map((t) => t.id)])
      const graceMs = 'grace' in spec.params ? spec.params.grace : undefined
      // as ECS StopTask on several tasks: all at once
      const stops = await Promise.all(tasks.map((t) => stopOne(ctx, t, opts.action, graceMs)))
      const timeoutMs = spec.params.recoveryTimeout
      const replacements = spec.params.waitForReplacement ? await waitForNewTasks(ctx, service, known, tasks.length, timeoutMs) : []
      if (spec.params.waitForReplacement && replacements.length < tasks.length) {
        ctx.log.warn(
          `  ${opts.type}: only ${replacements.length} of ${tasks.length} replacement(s) of ${service} ready after ${writeDuration(spec.params.recoveryTimeout)}`,
        )
      }
      record(ctx, opts.type, stopTimings(stops, replacements, await history(ctx, service)))
      return { service, tasks: tasks.map((t) => t.id) }
    },
    stateFromTargets: (targets) => (targets.length ? { service: serviceOf(targets), tasks: targets.map((t) => t.id) } : null),
    revert: async (ctx, spec, state) => {
      const service = state?.service ?? spec.target.service
      if (!service) throw new TargetError(`${opts.type}: revert needs the service (from the journal or target.service)`)
      await waitForDesired(ctx, service, spec.params.recoveryTimeout)
    },
  })
}

export const serviceStopTask = taskFault<StopP>({
  type: 'service.stop-task',
  description: "stop a count or percent of a service's tasks gracefully (SIGTERM, SIGKILL after the grace; seeded pick); revert waits for the desired count",
  action: 'stop',
  params: StopParams,
})

export const serviceKillTask = taskFault<KillP>({
  type: 'service.kill-task',
  description: "kill a count or percent of a service's tasks at once (SIGKILL; seeded pick); revert waits for the desired count",
  action: 'kill',
  params: KillParams,
})

export const serviceRollingRestart = defineFault<RollingP, TasksState | null>({
  type: 'service.rolling-restart',
  description: "restart a service's tasks one at a time: stop one gracefully, wait for its replacement to be ready, then the next",
  targets: ['task'],
  params: RollingParams,
  // one task at a time: each its own wave for blast-radius guardrails
  resolve: async (ctx, spec) => taskTargets(await resolveTasks(ctx, spec.target)).map((t, i) => ({ ...t, wave: i + 1 })),
  describe: (ctx, spec, targets) => [
    ...tasksFromTargets(targets).map(
      (t, i) =>
        `${i + 1}. ${describeStop(ctx, 'stop', t, spec.params.grace, `stop (SIGTERM${spec.params.grace !== undefined ? `, SIGKILL after ${writeDuration(spec.params.grace)}` : ''}) task ${t.id} of ${t.service}`).join('; ')}, then wait for its replacement to be ready (within ${writeDuration(spec.params.recoveryTimeout)})`,
    ),
    `(revert) wait until ${serviceOf(targets, spec.target.service)} runs its desired count of ready tasks`,
  ],
  inject: async (ctx, spec, targets) => {
    const service = serviceOf(targets, spec.target.service)
    const graceMs = spec.params.grace
    const timeoutMs = spec.params.recoveryTimeout
    const done: string[] = []
    for (const [i, task] of tasksFromTargets(targets).entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason
      const live = await ctx.env.tasks.list(service)
      if (!live.some((t) => t.id === task.id && t.state === 'RUNNING')) {
        ctx.log.warn(`  service.rolling-restart: ${task.id} is no longer running; skipped`)
        continue
      }
      const known = new Set(live.map((t) => t.id))
      const stop = await stopOne(ctx, task, 'stop', graceMs)
      done.push(task.id)
      const replacements = await waitForNewTasks(ctx, service, known, 1, timeoutMs)
      record(
        ctx,
        'service.rolling-restart',
        stopTimings([stop], replacements, await history(ctx, service)).map((t) => ({ ...t, step: i + 1 })),
      )
      if (!replacements.length)
        throw new Error(`service.rolling-restart: no replacement for ${task.id} was ready within ${writeDuration(spec.params.recoveryTimeout)}; stopped there`)
      const pause = spec.params.pause
      if (pause > 0 && i < targets.length - 1) await sleep(pause, ctx.signal)
    }
    return { service, tasks: done }
  },
  stateFromTargets: (targets) => (targets.length ? { service: serviceOf(targets), tasks: targets.map((t) => t.id) } : null),
  revert: async (ctx, spec, state) => {
    const service = state?.service ?? spec.target.service
    if (!service) throw new TargetError('service.rolling-restart: revert needs the service (from the journal or target.service)')
    await waitForDesired(ctx, service, spec.params.recoveryTimeout)
  },
})
