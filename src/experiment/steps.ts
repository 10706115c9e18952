/**
 * The method's steps as one tagged union, parsed once from what the YAML says: the step's kind
 * is its `kind` field (never guessed again from which key is present), durations are already
 * milliseconds, and each step remembers where it is written (`source`) for positioned errors.
 *
 * A step is recognised by its one kind key (fault:, wait:, probe:, parallel:, sequence:,
 * repeat:) and checked with that kind's schema only, so an error names the field that is wrong
 * rather than the union branch zod happened to get furthest in; a bad step does not hide its
 * siblings' problems. Nesting is bounded: deeper than MAX_STEP_DEPTH is an error where it starts.
 */
import { z } from 'zod'
import type { TargetSelector } from '../api/selector.ts'
import { FaultStepSchema, ProbeStepSchema, StepBase, WaitStepSchema, type ProbeSpec } from './schema.ts'
import { Duration } from '../api/duration.ts'
import { MAX_REPEAT_TIMES, MAX_STEP_DEPTH } from './limits.ts'

interface StepCommon {
  name?: string
  /** ms */
  timeout?: number
  /** where the step is written: ['method', 2, 'parallel', 0] */
  source: PropertyKey[]
}

export interface FaultStep extends StepCommon {
  kind: 'fault'
  fault: string
  target: TargetSelector
  with: Record<string, unknown>
  /** ms; without it the fault holds until the method ends */
  duration?: number
}
export interface WaitStep extends StepCommon {
  kind: 'wait'
  /** ms */
  wait: number
}
export interface ProbeStep extends StepCommon {
  kind: 'probe'
  probe: ProbeSpec
}
export interface ParallelStep extends StepCommon {
  kind: 'parallel'
  steps: Step[]
}
export interface SequenceStep extends StepCommon {
  kind: 'sequence'
  steps: Step[]
}
export interface RepeatStep extends StepCommon {
  kind: 'repeat'
  times: number
  /** ms between rounds */
  every?: number
  steps: Step[]
}

export type Step = FaultStep | WaitStep | ProbeStep | ParallelStep | SequenceStep | RepeatStep
export type StepKind = Step['kind']
export type LeafStep = FaultStep | WaitStep | ProbeStep
export type CompositeStep = ParallelStep | SequenceStep | RepeatStep

export const STEP_KINDS: readonly StepKind[] = ['fault', 'wait', 'probe', 'parallel', 'sequence', 'repeat']

export function isComposite(step: Step): step is CompositeStep {
  return step.kind === 'parallel' || step.kind === 'sequence' || step.kind === 'repeat'
}

/** One problem with a step: the path is relative to the document root. */
export interface StepIssue {
  path: PropertyKey[]
  message: string
}

const StepsArray = z.array(z.unknown()).min(1)
const ParallelShape = z.strictObject({ ...StepBase, parallel: StepsArray })
const SequenceShape = z.strictObject({ ...StepBase, sequence: StepsArray })
const RepeatShape = z.strictObject({
  ...StepBase,
  repeat: z.strictObject({
    times: z.int().positive().max(MAX_REPEAT_TIMES),
    every: Duration.optional(),
    steps: StepsArray,
  }),
})

/** zod issues → step issues, each under the step's own path */
export type IssueMapper = (base: PropertyKey[], error: z.ZodError, value: unknown) => StepIssue[]

/**
 * A top-level step already parsed when the YAML was read (YamlSource's `items` option): a large
 * method is turned into steps chunk by chunk, never held whole as plain data. parseSteps takes
 * it as it is.
 */
export class ReadStep {
  constructor(
    readonly step: Step | undefined,
    readonly issues: readonly StepIssue[],
  ) {}
}

/** Parses one top-level step of the method, at `path` (['method', index]), as the file is read. */
export function readStep(raw: unknown, path: PropertyKey[], toIssues: IssueMapper): ReadStep {
  const { step, issues } = parseStep(raw, path, toIssues, 0)
  // held until the whole method is read: no empty list per step
  return new ReadStep(step, issues.length ? issues : NO_ISSUES)
}

const NO_ISSUES: readonly StepIssue[] = Object.freeze([])

/**
 * Parses a list of steps written at `path` (e.g. ['method']). Returns every step that is valid
 * (composites keep their valid children) and every problem found, so one bad step does not
 * hide the others.
 */
export function parseSteps(raw: unknown, path: PropertyKey[], toIssues: IssueMapper, depth = 0): { steps: Step[]; issues: StepIssue[] } {
  const issues: StepIssue[] = []
  const steps: Step[] = []
  if (!Array.isArray(raw)) return { steps, issues: [{ path, message: 'expected a list of steps' }] }
  if (raw.length === 0) return { steps, issues: [{ path, message: 'needs at least one step' }] }
  raw.forEach((item, i) => {
    // concat: an exact-size array (a spread leaves room to grow, ~2.5× the memory, once per step)
    const r = item instanceof ReadStep ? item : parseStep(item, path.concat(i), toIssues, depth)
    issues.push(...r.issues)
    if (r.step) steps.push(r.step)
  })
  return { steps, issues }
}

function parseStep(raw: unknown, path: PropertyKey[], toIssues: IssueMapper, depth: number): { step?: Step; issues: StepIssue[] } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { issues: [{ path, message: `expected a step (a mapping with one of ${STEP_KINDS.map((k) => `${k}:`).join(', ')}), got ${describeValue(raw)}` }] }
  }
  const kinds = STEP_KINDS.filter((k) => k in raw)
  if (kinds.length === 0) {
    return { issues: [{ path, message: 'not a known form: expected a step with one of fault:, wait:, probe:, parallel:, sequence:, repeat:' }] }
  }
  if (kinds.length > 1) {
    return {
      issues: [{ path: [...path, kinds[1]], message: `a step is of one kind: this one has both ${kinds[0]}: and ${kinds[1]}: (split it in two steps)` }],
    }
  }
  const kind = kinds[0]
  if (kind === 'fault' || kind === 'wait' || kind === 'probe') {
    const schema = kind === 'fault' ? FaultStepSchema : kind === 'wait' ? WaitStepSchema : ProbeStepSchema
    const parsed = schema.safeParse(raw)
    if (!parsed.success) return { issues: toIssues(path, parsed.error, raw) }
    return { step: { kind, ...parsed.data, source: path } as LeafStep, issues: [] }
  }
  if (depth + 1 > MAX_STEP_DEPTH) {
    return { issues: [{ path: [...path, kind], message: `steps nest deeper than ${MAX_STEP_DEPTH} levels: flatten the method` }] }
  }
  const shape = kind === 'parallel' ? ParallelShape : kind === 'sequence' ? SequenceShape : RepeatShape
  const parsed = shape.safeParse(raw)
  // the shape's own fields (name, timeout, times, every) are checked here; children one by one below
  const issues = parsed.success ? [] : toIssues(path, parsed.error, raw)
  const childPath = kind === 'repeat' ? path.concat('repeat', 'steps') : path.concat(kind)
  const childRaw = kind === 'repeat' ? ((raw as { repeat?: { steps?: unknown } }).repeat?.steps ?? undefined) : (raw as Record<string, unknown>)[kind]
  // when the children list itself is malformed, zod said so above
  const children = Array.isArray(childRaw) && childRaw.length > 0 ? parseSteps(childRaw, childPath, toIssues, depth + 1) : { steps: [], issues: [] }
  issues.push(...children.issues)
  if (!parsed.success || children.issues.length) return { issues }
  const { name, timeout } = parsed.data
  const common = { ...(name !== undefined ? { name } : {}), ...(timeout !== undefined ? { timeout } : {}), source: path }
  if ('repeat' in parsed.data) {
    const r = parsed.data.repeat
    return { step: { kind: 'repeat', ...common, times: r.times, ...(r.every !== undefined ? { every: r.every } : {}), steps: children.steps }, issues }
  }
  return { step: { kind: kind as 'parallel' | 'sequence', ...common, steps: children.steps }, issues }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'string' ? `the text ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}` : `${typeof v} ${String(v)}`
}

/** Every step of the tree, depth first, in the order written (for checks that need no order). */
export function* allSteps(steps: readonly Step[]): Generator<Step> {
  for (const step of steps) {
    yield step
    if (isComposite(step)) yield* allSteps(step.steps)
  }
}
