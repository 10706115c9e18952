/**
 * The vocabulary of the linearizability checker: operations of a recorded history and the model
 * (sequential specification) they are checked against — Porcupine's five functions (init, step,
 * equal, partition, describe) plus an optional state hash for the search cache.
 */

/**
 * `ok`: completed, the output is what the system answered.
 * `fail`: completed, the model says what a failure means (a failed cas = the compare failed:
 *   the register was not `from`; a failed write = it did not happen).
 * `info`: indeterminate (timed out, crashed, or no completion by the end of the history): it may
 *   have taken effect at any time after its call, or never. Its `return` is +Infinity.
 */
export type OpStatus = 'ok' | 'fail' | 'info'

export interface Operation<I = unknown, O = unknown> {
  /** client id; only used for display (ops of one process need not be sequential) */
  process: number
  /** invocation time (monotonic, any unit; ms in our own histories) */
  call: number
  /** completion time; +Infinity when status is `info` */
  return: number
  status: OpStatus
  input: I
  /** what the completion said (undefined for `info`) */
  output: O
  /** 1-based line of the invocation in the source file, when parsed from one */
  line?: number
}

/** Returned by `step` when the operation cannot take place in the given state. */
export const ILLEGAL: unique symbol = Symbol('illegal')
export type Illegal = typeof ILLEGAL

export interface Model<S = unknown, I = unknown, O = unknown> {
  readonly name: string
  init(): S
  /**
   * The state after `op` if `op` may be linearized in `state`, else ILLEGAL. Must be pure and
   * should not allocate for the common cases: it runs in the search's hot loop. For an `info`
   * operation it must accept whatever the outcome could have been.
   */
  step(state: S, op: Operation<I, O>): S | Illegal
  equal(a: S, b: S): boolean
  /** 32-bit hash consistent with `equal`; absent = the cache hashes the linearized set only */
  hash?(state: S): number
  /** split a history into independently checkable sub-histories (P-compositionality) */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][]
  /** why `op` is not an operation of this model (checked before the search), or undefined */
  validate?(op: Operation<I, O>): string | undefined
  /** label of a partition in counterexamples (default: `key "k"` from `input.key`) */
  describePartition?(ops: readonly Operation<I, O>[]): string | undefined
  /**
   * false for operations that constrain nothing and may be dropped before the search (a read
   * whose outcome is unknown, a write known not to have happened)
   */
  relevant?(op: Operation<I, O>): boolean
  /**
   * true for an op that leaves unchanged every state in which it is legal (an `ok` read, a `fail`
   * cas). The search then never tries it later than its first legal place — a sound pruning that
   * removes most of the backtracking reads cause. Must be false when unsure.
   */
  readOnly?(op: Operation<I, O>): boolean
  /** e.g. `cas(3→0) ok`, `read → 4`, `write(2) info` */
  describeOperation(op: Operation<I, O>): string
  describeState(state: S): string
}

/** One line of a counterexample. */
export interface CounterexampleOp {
  op: Operation
  /** `describe` of the op, including its status */
  text: string
  /** the state the op was applied in (linearized ops) or the state it met and could not accept */
  stateBefore: string
  /** the state after it (linearized ops only) */
  stateAfter?: string
}

/**
 * The longest partial linearization the search found, and the operation that could not follow
 * it: `blocked` completed (its return time was reached) but is illegal in `state`, and none of
 * the other pending ops (`pending`, concurrent with it) could be placed before it either.
 */
export interface Counterexample {
  /** the partition (e.g. `key "k1"`), when the model partitions */
  partition?: string
  /** ops linearized so far, in linearization order (only the last `window` of them when long) */
  linearized: CounterexampleOp[]
  /** how many earlier linearized ops are not shown */
  omitted: number
  /** the op whose return was reached without a legal place for it */
  blocked: CounterexampleOp
  /** other ops called but not yet linearized at that point (candidates that did not help) */
  pending: CounterexampleOp[]
  /** the model state after the shown prefix */
  state: string
}

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown'

export interface CheckResult {
  verdict: Verdict
  /** present when not-linearizable */
  counterexample?: Counterexample
  /** number of operations checked (after dropping irrelevant ones) and partitions */
  operations: number
  partitions: number
  /** partitions left undecided when the budget ran out */
  undecided: number
  /** search steps taken (all partitions) */
  steps: number
  elapsedMs: number
  /** why the verdict is `unknown`: budget spent, aborted, or no operation to check (no evidence is not a pass) */
  reason?: 'budget' | 'aborted' | 'no-operations'
}

export interface CheckOptions {
  /** wall-clock budget for the whole check; when spent the verdict is `unknown` */
  budgetMs?: number
  signal?: AbortSignal
  /** how many linearized ops of the counterexample to show before the blocked op (default 12) */
  window?: number
}
