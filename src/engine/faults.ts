/**
 * Injecting and reverting faults with their journal entries. The order is what makes recovery
 * possible: targets are journaled (and fsync'ed) before the first mutating call, the revert
 * state right after inject returns, and a fault leaves the active list only once reverted.
 */
import type { Environment, Logger } from '../api/environment.ts'
import type { FaultContext, FaultSpec, FaultType, Json, ResolvedTarget } from '../api/fault.ts'
import type { FaultEvent } from '../api/probe.ts'
import type { JournalWriter } from '../journal/journal.ts'
import { withTimeout } from '../util/abort.ts'
import { BlastRadiusError, TargetError } from '../api/errors.ts'
import { majorityProblem, selectorProblems } from '../api/select-targets.ts'
import type { Rng } from '../util/rng.ts'

export interface ActiveFault {
  faultId: string
  type: FaultType<any, any>
  spec: FaultSpec<any>
  targets: ResolvedTarget[]
  state: Json
}

export const REVERT_TIMEOUT_MS = 180_000
const REVERT_ATTEMPTS = 3

export class FaultBook {
  readonly active: ActiveFault[] = []
  private readonly listeners = new Set<(e: FaultEvent) => void>()
  private counter = 0
  revertFailures = 0

  constructor(
    private readonly env: Environment,
    private readonly journal: JournalWriter,
    private readonly runId: string,
    private readonly log: Logger,
  ) {}

  onFault = (listener: (e: FaultEvent) => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit(e: Omit<FaultEvent, 'at'>): void {
    for (const l of this.listeners) l({ ...e, at: this.journal.now() })
  }

  context(rng: Rng, signal: AbortSignal, dryRun = false, onCheckpoint?: (state: Json) => void): FaultContext {
    return {
      checkpoint: (state) => {
        if (!onCheckpoint) throw new Error('checkpoint() is only meaningful during inject')
        onCheckpoint(state)
      },
      env: this.env,
      runId: this.runId,
      rng,
      log: this.log,
      signal,
      dryRun,
      evidence: (kind, data) => this.journal.append({ type: 'evidence', kind, source: 'fault', data }),
    }
  }

  async inject(type: FaultType<any, any>, spec: FaultSpec<any>, path: string, rng: Rng, signal: AbortSignal, timeoutMs: number): Promise<ActiveFault> {
    const faultId = `f${++this.counter}`
    let active: ActiveFault | undefined
    const ctx = this.context(rng, signal, false, (state) => {
      if (active) active.state = state
      this.journal.append({ type: 'fault.checkpoint', faultId, revert: state })
    })
    // the checks plan makes, made again against the environment as it is now
    const problems = selectorProblems(spec.target, type.targets, this.env.topology(), this.env.source)
    if (problems.length) throw new TargetError(problems.join('; '))
    const targets = await type.resolve(ctx, spec)
    const majority = majorityProblem(spec.type, spec.target, targets, this.env.topology())
    if (majority) throw new BlastRadiusError(majority)
    await this.env.guardrails?.checkBlastRadius(spec.type, targets, 'inject')
    this.journal.append({ type: 'fault.injecting', faultId, fault: spec.type, path, selector: spec.target, params: spec.params as Json, targets })
    const started = this.journal.now()
    // Registered before inject: if inject fails half-way, rollback still tries the revert.
    active = { faultId, type, spec, targets, state: type.stateFromTargets?.(targets) ?? null }
    this.active.push(active)
    try {
      active.state = await withTimeout(`inject ${spec.type}`, timeoutMs, (s) => type.inject({ ...ctx, signal: s }, spec, targets), signal)
    } catch (err) {
      this.journal.append({ type: 'fault.inject-failed', faultId, error: (err as Error).message })
      throw err
    }
    this.journal.append({ type: 'fault.injected', faultId, revert: active.state, tookMs: Math.round(this.journal.now() - started) })
    this.log.info(`  ⚡ injected ${spec.type} into ${targets.map((t) => t.id).join(', ')}`)
    this.emit({ kind: 'injected', faultId, type: spec.type })
    return active
  }

  /** Reverts one fault, retrying; never throws (a failure is journaled and counted). */
  async revert(fault: ActiveFault, reason: string, rng: Rng): Promise<boolean> {
    this.journal.append({ type: 'fault.reverting', faultId: fault.faultId, reason })
    const started = this.journal.now()
    for (let attempt = 1; attempt <= REVERT_ATTEMPTS; attempt++) {
      try {
        await withTimeout(`revert ${fault.spec.type}`, fault.type.revertTimeoutMs ?? REVERT_TIMEOUT_MS, (s) =>
          fault.type.revert(this.context(rng, s), fault.spec, fault.state),
        )
        this.journal.append({ type: 'fault.reverted', faultId: fault.faultId, tookMs: Math.round(this.journal.now() - started) })
        this.active.splice(this.active.indexOf(fault), 1)
        this.log.info(`  ✓ reverted ${fault.spec.type} on ${fault.targets.map((t) => t.id).join(', ')}`)
        this.emit({ kind: 'reverted', faultId: fault.faultId, type: fault.spec.type })
        return true
      } catch (err) {
        this.log.warn(`  revert of ${fault.spec.type} failed (attempt ${attempt}/${REVERT_ATTEMPTS}): ${(err as Error).message}`)
        if (attempt === REVERT_ATTEMPTS) {
          this.journal.append({ type: 'fault.revert-failed', faultId: fault.faultId, error: (err as Error).message })
          this.revertFailures++
        }
      }
    }
    return false
  }

  /** Reverts everything still active, newest first. */
  async revertAll(reason: string, rng: Rng): Promise<void> {
    for (const fault of [...this.active].reverse()) await this.revert(fault, reason, rng)
  }
}
