/**
 * The fault contract: the built-in faults and users' own are written against it alike.
 *
 * A fault resolves its target selector to concrete targets, injects, and returns a revert
 * state — plain JSON — that the engine writes to the journal. `revert` receives only that
 * state (and the fault's parameters), never in-memory objects, so the same revert runs after
 * a crash from `gameday recover RUN_DIR`.
 */
import type { z } from 'zod'
import type { Environment, Logger } from './environment.ts'
import type { Rng } from '../util/rng.ts'
import type { TargetSelector } from './selector.ts'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export interface FaultContext {
  env: Environment
  /** the run's id; AWS resources a fault creates are tagged with it so `recover` can find them */
  runId: string
  /** the step's own random stream, derived from the run seed and the step path */
  rng: Rng
  log: Logger
  /** aborts when the run is cancelled (Ctrl-C, guardrail); inject should stop early */
  signal: AbortSignal
  /** record evidence in the journal (e.g. /routez snapshots during a partition) */
  evidence(kind: string, data: Json): void
  /** true at plan time: resolve targets and describe actions, mutate nothing */
  dryRun: boolean
  /**
   * Journal the revert state reached so far, before inject returns: if inject then fails (or
   * the process dies), the revert — by the engine or by `gameday recover` — gets this state.
   */
  checkpoint(state: Json): void
}

/** One resolved target, as it appears in the journal and reports. */
export interface ResolvedTarget {
  kind: TargetKind | 'link' | 'service'
  /** stable id: node name, task id, AZ name, ... */
  id: string
  /**
   * Targets of different waves are hit one after another, never together (a rolling restart,
   * servers in lame duck in turn): blast-radius guardrails count the largest wave. Absent: all at once.
   */
  wave?: number
  /** extra facts worth journaling: az, role at pick time, ... */
  [key: string]: Json | undefined
}

export interface FaultSpec<P> {
  type: string
  target: TargetSelector
  params: P
  /** the step's duration, when it has one: FIS-style backends bound the fault by it */
  durationMs?: number
}

/** What a fault acts on: validate and plan refuse a selector that names something else. */
export type TargetKind = 'node' | 'task' | 'cache' | 'az' | 'shard' | 'other'

export interface FaultType<P = Record<string, unknown>, S extends Json = Json> {
  type: string
  description: string
  /**
   * The kinds of thing the fault acts on, e.g. ['node'] for nats.kill-node: a selector naming
   * only a service for it is an error at validate, never "every node of the cluster".
   */
  targets: TargetKind[]
  /** validates the step's `with:` block */
  params: z.ZodType<P>
  /** resolve the selector against the live environment (also at plan time) */
  resolve(ctx: FaultContext, spec: FaultSpec<P>): Promise<ResolvedTarget[]>
  /** what inject would do, one line per action (mutating API calls on AWS); used by `plan` */
  describe(ctx: FaultContext, spec: FaultSpec<P>, targets: ResolvedTarget[]): string[]
  inject(ctx: FaultContext, spec: FaultSpec<P>, targets: ResolvedTarget[]): Promise<S>
  /** how long one revert attempt may take (default 3 min; AWS recoveries can need more) */
  revertTimeoutMs?: number
  /**
   * The revert state to assume when a run crashed after journaling the targets but before
   * journaling inject's result (used by `gameday recover`). Without it, revert gets null.
   */
  stateFromTargets?(targets: ResolvedTarget[]): S
  /** undo the fault from its journaled revert state (null: see stateFromTargets); must be idempotent */
  revert(ctx: FaultContext, spec: FaultSpec<P>, state: S): Promise<void>
}

export function defineFault<P, S extends Json>(fault: FaultType<P, S>): FaultType<P, S> {
  return fault
}
