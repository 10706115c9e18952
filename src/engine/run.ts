/**
 * One run of an experiment:
 *
 *   steady state before → method (steps, with load and continuous probes throughout)
 *     → rollback (revert every fault still active) → stop continuous probes → steady state after
 *
 * Every fault injected is reverted whatever happens — success, deviation, a guardrail abort,
 * an action that throws, Ctrl-C or SIGTERM (the CLI turns signals into `signal` aborts) — and
 * everything is journaled as it happens; reports are derived from the journal afterwards.
 */
import { mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import type { Environment, Logger } from '../api/environment.ts'
import type { MetricUnit, VerdictKind } from '../api/probe.ts'
import type { ProbeSpec } from '../experiment/schema.ts'
import type { Step } from '../experiment/steps.ts'
import type { LoadedExperiment } from '../experiment/load.ts'
import { evaluateTolerance, formatMetric, parseTolerance, findMetric } from '../experiment/tolerance.ts'
import { JournalWriter } from '../journal/journal.ts'
import type { PhaseName, RunStatus } from '../journal/events.ts'
import { createRng, randomSeed } from '../util/rng.ts'
import { formatDuration, writeDuration } from '../util/duration.ts'
import { sleep, withTimeout } from '../util/abort.ts'
import { createProbe, judge, runOneShot, type ProbeHandle, type ProbeHost } from './probes.ts'
import { walkSteps, type StepVisitor } from './steps.ts'
import { planExperiment } from './plan.ts'
import { GuardrailError } from '../api/errors.ts'
import { FaultBook } from './faults.ts'
import { writeReports } from '../reports/write.ts'
import type { RunResult } from '../reports/result.ts'
import { GAMEDAY_VERSION } from '../version.ts'

export interface RunOptions {
  loaded: LoadedExperiment
  env: Environment
  environmentName: string
  seed?: number
  reportsDir?: string
  runId?: string
  keepEnv?: boolean
  /** abort from outside: Ctrl-C, SIGTERM, a test */
  signal?: AbortSignal
  log?: Logger
  /** live figures every second through the method (default true) */
  live?: boolean
}

export interface RunOutcome {
  runId: string
  runDir: string
  status: RunStatus
  exitCode: RunExitCode
  result: RunResult
}

const DEFAULT_INJECT_TIMEOUT_MS = 120_000

/** `gameday run` exits 0 passed, 1 deviated, 2 aborted or errored, 3 inconclusive (nothing deviated, but a verdict rests on no evidence). */
export type RunExitCode = 0 | 1 | 2 | 3
export const EXIT_CODE: Record<RunStatus, RunExitCode> = { passed: 0, deviated: 1, aborted: 2, errored: 2, inconclusive: 3 }

export function newRunId(experiment: string): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return `${stamp}-${experiment.replace(/[^a-z0-9-]+/gi, '-').toLowerCase()}-${Math.random().toString(36).slice(2, 6)}`
}

const VERDICT_MARK: Record<VerdictKind, string> = { pass: '✓', fail: '✗', inconclusive: '?' }

const consoleLog: Logger = {
  info: (m) => process.stdout.write(m + '\n'),
  warn: (m) => process.stderr.write(m + '\n'),
}

function describeStep(step: Step): string {
  if (step.name) return step.name
  switch (step.kind) {
    case 'fault':
      return `${step.fault} ${JSON.stringify(step.target)}${step.duration !== undefined ? ` for ${writeDuration(step.duration)}` : ''}`
    case 'wait':
      return `wait ${writeDuration(step.wait)}`
    case 'probe':
      return `probe ${step.probe.name}`
    case 'repeat':
      return `repeat ×${step.times}`
    default:
      return `${step.kind} ×${step.steps.length}`
  }
}

export class AbortRun extends Error {
  override name = 'AbortRun'
}

export async function runExperiment(opts: RunOptions): Promise<RunOutcome> {
  const { loaded, env } = opts
  const log = opts.log ?? consoleLog
  const experiment = loaded.experiment
  const seed = opts.seed ?? experiment.seed ?? randomSeed()
  const rng = createRng(seed)
  const runId = opts.runId ?? newRunId(experiment.name)
  const runDir = resolve(opts.reportsDir ?? 'reports', runId)
  mkdirSync(runDir, { recursive: true })
  const journal = new JournalWriter(join(runDir, 'journal.jsonl'))
  const book = new FaultBook(env, journal, runId, log)
  const host: ProbeHost = { env, registry: loaded.registry, journal, runDir, rng, log, onFault: book.onFault }

  // One controller for the method: user signals and guardrails abort it; rollback never uses it.
  const method = new AbortController()
  let abortReason: string | undefined
  let errorReason: string | undefined
  const abort = (reason: string) => {
    if (!method.signal.aborted) {
      abortReason = reason
      log.warn(`\n⚠ aborting: ${reason}`)
      method.abort(new AbortRun(reason))
    }
  }
  const onOuterAbort = () => abort(String((opts.signal!.reason as Error)?.message ?? opts.signal!.reason ?? 'aborted'))
  if (opts.signal?.aborted) onOuterAbort()
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true })

  journal.append({
    type: 'run.started',
    runId,
    experiment: experiment.name,
    experimentFile: loaded.file,
    environment: opts.environmentName,
    environmentFile: env.source,
    seed,
    gameday: GAMEDAY_VERSION,
    host: hostname(),
    pid: process.pid,
  })
  log.info(`▶ ${experiment.name}  run ${runId}  env ${opts.environmentName}  seed ${seed}`)

  let startedEnv = false
  let deviated = false
  /** probes whose tolerances held on no evidence, with why */
  const inconclusive: string[] = []
  const phase = async (name: PhaseName, body: () => Promise<boolean>): Promise<boolean> => {
    journal.append({ type: 'phase.started', phase: name })
    log.info(`\n── ${name}`)
    let ok = false
    try {
      ok = await body()
    } finally {
      journal.append({ type: 'phase.ended', phase: name, ok })
    }
    return ok
  }

  const verdictLine = (v: {
    probe: string
    verdict: VerdictKind
    inconclusive?: string[]
    metrics: Record<string, unknown>
    tolerances: { tolerance: string; ok: boolean; actual: unknown; metric: string; reason?: string; unit?: MetricUnit }[]
    violations: string[]
  }) => {
    const figures = v.tolerances.map(
      (t) => `${t.tolerance} → ${formatMetric(t.metric, t.actual as never, t.unit)}${t.ok ? '' : ' ✗'}${t.reason ? ` (${t.reason})` : ''}`,
    )
    const why = (v.inconclusive ?? []).map((r) => `inconclusive: ${r}`)
    if (v.verdict === 'inconclusive') inconclusive.push(`${v.probe}: ${(v.inconclusive ?? []).join('; ')}`)
    log.info(`  ${VERDICT_MARK[v.verdict]} ${v.probe}: ${[...figures, ...v.violations, ...why].join('; ') || 'no tolerance'}`)
  }

  const steadyState = async (phaseName: 'before' | 'after', signal: AbortSignal): Promise<boolean> => {
    let ok = true
    for (const spec of loaded.steadyState) {
      if (signal.aborted) return false
      const verdict = await runOneShot(host, spec, phaseName, signal)
      verdictLine(verdict)
      if (verdict.verdict === 'fail') ok = false
    }
    return ok
  }

  // ---- continuous probes, guardrails and live figures ----------------------------------
  const continuous: ProbeHandle[] = []
  const continuousSpecs: ProbeSpec[] = [...experiment.load, ...loaded.steadyState.filter((p) => p.during !== undefined)]
  const timers: NodeJS.Timeout[] = []
  const methodStartedAt = { t: 0 }

  const startContinuous = async () => {
    for (const spec of continuousSpecs) {
      const handle = await createProbe(host, spec, 'during', method.signal)
      if (!handle.probe.start || !handle.probe.stop)
        throw new Error(`probe ${spec.name} (${spec.probe}) cannot run through the method: it has no start()/stop()`)
      await handle.probe.start()
      continuous.push(handle)
    }
  }

  const startWatchers = () => {
    methodStartedAt.t = performance.now()
    const live = opts.live !== false
    timers.push(
      setInterval(() => {
        const parts: string[] = []
        for (const h of continuous) {
          const snap = h.probe.snapshot?.()
          if (!snap || !Object.keys(snap).length) continue
          journal.append({ type: 'probe.sample', probe: h.spec.name, phase: 'during', metrics: snap })
          parts.push(
            `${h.spec.name} ${Object.entries(snap)
              .map(([k, v]) => `${k}=${formatMetric(k, v, findMetric(h.type.metrics, k)?.unit)}`)
              .join(' ')}`,
          )
        }
        if (live && parts.length) log.info(`  ⋯ ${formatDuration(performance.now() - methodStartedAt.t).padStart(6)}  ${parts.join('  |  ')}`)
      }, 1000),
    )
    for (const g of experiment.guardrails) {
      if ('maxDuration' in g) {
        timers.push(setTimeout(() => abort(`guardrail maxDuration ${writeDuration(g.maxDuration)} exceeded`), g.maxDuration))
      } else if ('probe' in g) {
        const tolerance = parseTolerance(g.abortWhen)
        const warmUp = g.after ?? 0
        timers.push(
          setInterval(() => {
            if (performance.now() - methodStartedAt.t < warmUp) return
            const handle = continuous.find((h) => h.spec.name === g.probe)
            const snap = handle?.probe.snapshot?.()
            if (!snap || snap[tolerance.metric] === undefined || Number.isNaN(snap[tolerance.metric])) return
            const r = evaluateTolerance(tolerance, snap)
            if (r.ok) {
              const detail = `${g.probe}: ${g.abortWhen} (now ${formatMetric(r.metric, r.actual, findMetric(handle!.type.metrics, r.metric)?.unit)})`
              journal.append({ type: 'guardrail.tripped', guardrail: `probe ${g.probe}`, detail })
              abort(`guardrail tripped — ${detail}`)
            }
          }, 500),
        )
      } else if ('alarm' in g && env.guardrails?.alarmsFiring) {
        const alarmsFiring = env.guardrails.alarmsFiring.bind(env.guardrails)
        timers.push(
          setInterval(() => {
            void alarmsFiring([g.alarm])
              .then((firing) => {
                if (firing.length) {
                  journal.append({ type: 'guardrail.tripped', guardrail: `alarm ${g.alarm}`, detail: `alarm ${firing.join(', ')} is firing` })
                  abort(`guardrail tripped — alarm ${firing.join(', ')} is firing`)
                }
              })
              .catch((err) => log.warn(`  could not read alarm ${g.alarm}: ${(err as Error).message}`))
          }, 5000),
        )
      }
    }
  }

  // ---- steps ---------------------------------------------------------------------------
  const execLeaf = async (step: Step, path: string, s: AbortSignal): Promise<void> => {
    if (step.kind === 'fault') {
      const type = loaded.registry.fault(step.fault)!
      const spec = {
        type: step.fault,
        target: step.target,
        params: type.params.parse(step.with ?? {}),
        ...(step.duration !== undefined ? { durationMs: step.duration } : {}),
      }
      const stepRng = rng.fork(path)
      const active = await book.inject(type, spec, path, stepRng, s, step.timeout ?? DEFAULT_INJECT_TIMEOUT_MS)
      if (step.duration !== undefined) {
        await sleep(step.duration, s)
        await book.revert(active, 'duration elapsed', stepRng)
      }
    } else if (step.kind === 'wait') {
      await sleep(step.wait, s)
    } else if (step.kind === 'probe') {
      const run = () => runOneShot(host, step.probe, 'method', s)
      const verdict = step.timeout !== undefined ? await withTimeout(`probe ${step.probe.name}`, step.timeout, run, s) : await run()
      verdictLine(verdict)
      if (verdict.verdict === 'fail') deviated = true
    }
  }
  const execStep: StepVisitor = async (step, { path }, inner, signal) => {
    journal.append({ type: 'step.started', path, kind: step.kind, ...(step.name ? { name: step.name } : {}) })
    log.info(`  → ${path} ${describeStep(step)}`)
    const started = journal.now()
    try {
      const body = (s: AbortSignal) => (step.kind === 'fault' || step.kind === 'wait' || step.kind === 'probe' ? execLeaf(step, path, s) : inner(s))
      // a fault step's own timeout bounds its injection, a probe's its run (above); for the others it bounds the step
      if (step.timeout !== undefined && step.kind !== 'fault' && step.kind !== 'probe') await withTimeout(`step ${path}`, step.timeout, body, signal)
      else await body(signal)
      journal.append({ type: 'step.ended', path, ok: true, tookMs: Math.round(journal.now() - started) })
    } catch (err) {
      journal.append({ type: 'step.ended', path, ok: false, error: (err as Error).message ?? String(err), tookMs: Math.round(journal.now() - started) })
      throw err
    }
  }

  // ---- the run ---------------------------------------------------------------------------
  try {
    if (!(await env.isUp())) {
      const t = journal.now()
      log.info(`starting the ${opts.environmentName} environment…`)
      startedEnv = true
      await env.up(log, method.signal)
      journal.append({ type: 'environment.up', tookMs: Math.round(journal.now() - t), startedByRun: true })
      log.info(`environment up in ${formatDuration(journal.now() - t)}`)
    } else {
      journal.append({ type: 'environment.up', tookMs: 0, startedByRun: false })
    }

    // Every fault step as plan sees it, before anything is touched: a step the run would refuse
    // (a guardrail, an action this environment cannot do) stops it now, not after the steps
    // before it have already acted.
    const preflight = await planExperiment(loaded, env, seed)
    if (preflight.refusals.length) {
      throw new GuardrailError(`refused before any fault was injected (see \`gameday plan\`): ${preflight.refusals.join('; ')}`)
    }

    const before = await phase('steady-state-before', () => steadyState('before', method.signal))
    if (!before && !method.signal.aborted) {
      abortReason = 'the steady state did not hold before the method: nothing was injected'
      log.warn(`⚠ ${abortReason}`)
    } else if (!method.signal.aborted) {
      await phase('method', async () => {
        await startContinuous()
        startWatchers()
        await walkSteps(experiment.method, execStep, 'run', method.signal)
        return true
      }).catch((err) => {
        if (!(err instanceof AbortRun) && !method.signal.aborted) {
          errorReason = `${(err as Error).message}`
          log.warn(`✗ method failed: ${errorReason}`)
        }
      })
    }
  } catch (err) {
    if (!method.signal.aborted) {
      errorReason = (err as Error).message
      log.warn(`✗ ${errorReason}`)
    }
  } finally {
    for (const t of timers) clearInterval(t)
    await phase('rollback', async () => {
      if (book.active.length === 0) log.info('  nothing to revert')
      await book.revertAll(abortReason ? `aborted: ${abortReason}` : errorReason ? 'error' : 'method ended', rng)
      return book.revertFailures === 0
    })
    // Continuous probes end after the rollback, so they see the whole fault window and the recovery.
    for (const handle of continuous) {
      try {
        const result = await handle.probe.stop!()
        const v = judge(host, handle, result)
        verdictLine(v)
        if (v.verdict === 'fail') deviated = true
      } catch (err) {
        verdictLine(judge(host, handle, undefined, err))
        deviated = true
      } finally {
        // close() releases resources after the verdict is journaled: its error cannot change the verdict
        await handle.probe.close?.().catch(() => {})
      }
    }
    if (!abortReason && !errorReason) {
      // a Ctrl-C now still ends the run at once: the faults are already reverted
      const after = await phase('steady-state-after', () => steadyState('after', method.signal)).catch(() => false)
      if (!after && !abortReason) deviated = true
    }
  }

  const status: RunStatus =
    book.revertFailures > 0 || errorReason ? 'errored' : abortReason ? 'aborted' : deviated ? 'deviated' : inconclusive.length ? 'inconclusive' : 'passed'
  const reason =
    book.revertFailures > 0
      ? `${book.revertFailures} fault(s) could not be reverted: run \`gameday recover ${runDir}\``
      : (errorReason ?? abortReason ?? (status === 'inconclusive' ? `no evidence for ${inconclusive.join(' | ')}` : undefined))
  if (startedEnv && !opts.keepEnv) {
    const t = journal.now()
    try {
      if (book.revertFailures > 0) log.warn('⚠ keeping the environment: some faults could not be reverted')
      else {
        log.info(`\nstopping the ${opts.environmentName} environment…`)
        await env.down(log)
        journal.append({ type: 'environment.down', tookMs: Math.round(journal.now() - t) })
      }
    } catch (err) {
      log.warn(`⚠ could not stop the environment: ${(err as Error).message}`)
    }
  }
  await env.close?.()
  journal.append({ type: 'run.ended', status, ...(reason ? { reason } : {}), tookMs: Math.round(journal.now()) })
  journal.close()
  opts.signal?.removeEventListener('abort', onOuterAbort)
  const result = writeReports(runDir)
  const exitCode = EXIT_CODE[status]
  log.info(
    `\n${status === 'passed' ? '✔' : status === 'inconclusive' ? '?' : '✘'} ${status.toUpperCase()}${reason ? ` — ${reason}` : ''}\n  reports: ${runDir}`,
  )
  return { runId, runDir, status, exitCode, result }
}
