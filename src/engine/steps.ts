/**
 * The one walk over a method's steps, shared by validate, plan and run. The walk owns the
 * structure — paths, the order of children, rounds of a repeat, concurrency and abort — and a
 * visitor owns what a step means to its caller (check it, describe it, execute it).
 *
 *   inspect  every step once, in the order written (validate, plan): a repeat's body once
 *            (paths `method[0].repeat[1]`), a parallel's branches one after another
 *   run      as the run executes it: parallel branches at once (one failing branch aborts its
 *            siblings), a repeat's rounds with `every` between them (`method[0].repeat[2][1]`)
 */
import { sleep } from '../util/abort.ts'
import { isComposite, type Step } from '../experiment/steps.ts'

export interface StepAt {
  /** the step's path in journals, plans and progress output: `method[1].parallel[0]` */
  path: string
  /** 0 for a step of the method itself, +1 per enclosing composite */
  depth: number
}

/**
 * Called for every step. `inner` walks a composite's children (a no-op for a leaf); the visitor
 * decides what surrounds it (a journal entry, a timeout, a plan line). Throwing stops the walk.
 */
export type StepVisitor = (step: Step, at: StepAt, inner: (signal: AbortSignal) => Promise<void>, signal: AbortSignal) => Promise<void>

export type WalkMode = 'inspect' | 'run'

const NEVER = new AbortController().signal

export async function walkSteps(steps: readonly Step[], visit: StepVisitor, mode: WalkMode, signal: AbortSignal = NEVER, prefix = 'method'): Promise<void> {
  await walkList(steps, prefix, 0, visit, mode, signal)
}

async function walkList(steps: readonly Step[], prefix: string, depth: number, visit: StepVisitor, mode: WalkMode, signal: AbortSignal): Promise<void> {
  for (const [i, step] of steps.entries()) await walkOne(step, `${prefix}[${i}]`, depth, visit, mode, signal)
}

async function walkOne(step: Step, path: string, depth: number, visit: StepVisitor, mode: WalkMode, signal: AbortSignal): Promise<void> {
  if (mode === 'run' && signal.aborted) throw signal.reason
  const inner = isComposite(step) ? (s: AbortSignal) => walkChildren(step, path, depth + 1, visit, mode, s) : async () => {}
  await visit(step, { path, depth }, inner, signal)
}

async function walkChildren(step: Step, path: string, depth: number, visit: StepVisitor, mode: WalkMode, signal: AbortSignal): Promise<void> {
  switch (step.kind) {
    case 'sequence':
      return walkList(step.steps, `${path}.sequence`, depth, visit, mode, signal)
    case 'parallel':
      if (mode === 'inspect') return walkList(step.steps, `${path}.parallel`, depth, visit, mode, signal)
      return walkBranches(step.steps, `${path}.parallel`, depth, visit, signal)
    case 'repeat':
      if (mode === 'inspect') return walkList(step.steps, `${path}.repeat`, depth, visit, mode, signal)
      for (let round = 0; round < step.times; round++) {
        await walkList(step.steps, `${path}.repeat[${round}]`, depth, visit, mode, signal)
        if (step.every && round < step.times - 1) await sleep(step.every, signal)
      }
      return
    default:
      return
  }
}

/** Parallel branches: all start at once; the first to fail aborts its siblings, and its error is the step's. */
async function walkBranches(steps: readonly Step[], prefix: string, depth: number, visit: StepVisitor, signal: AbortSignal): Promise<void> {
  const branch = new AbortController()
  const onAbort = () => branch.abort(signal.reason)
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const results = await Promise.allSettled(
      steps.map((child, i) =>
        walkOne(child, `${prefix}[${i}]`, depth, visit, 'run', branch.signal).catch((err: unknown) => {
          branch.abort(err)
          throw err
        }),
      ),
    )
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
