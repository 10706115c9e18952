/**
 * `gameday plan`: the resolved targets and the actions of every step, without touching
 * anything. Faults resolve in dry-run mode (AWS: Describe/List/Get calls only); a role that can
 * only be resolved on a live cluster is shown as resolved at injection.
 *
 * Plan refuses what a run would refuse, and lists it in `refusals` (the CLI exits 2): a
 * guardrail (allow-list, blast radius), an action the environment cannot do, a selector naming
 * what the environment does not have or asking for more than there is, a node fault taking more
 * than a minority of a cluster without `allowMajority: true`, an environment that cannot be asked.
 */
import type { Environment, Topology } from '../api/environment.ts'
import type { FaultContext } from '../api/fault.ts'
import type { LoadedExperiment } from '../experiment/load.ts'
import type { FaultStep } from '../experiment/steps.ts'
import { createRng, type Rng } from '../util/rng.ts'
import { toleranceList } from '../experiment/tolerance.ts'
import { DiscoveryError, GuardrailError, UnsupportedError, ValidationError } from '../api/errors.ts'
import { majorityProblem, selectorProblems } from '../api/select-targets.ts'
import { writeDuration } from '../util/duration.ts'
import { walkSteps } from './steps.ts'

export interface PlanLine {
  depth: number
  text: string
}

const message = (err: unknown) => (err as Error)?.message ?? String(err)
/**
 * errors a run would stop on whatever the moment — a guardrail, an action the environment cannot
 * do, parameters it cannot take, an environment it cannot find: refusals, not targets to find later
 */
const refusesRun = (err: unknown) =>
  err instanceof GuardrailError || err instanceof UnsupportedError || err instanceof ValidationError || err instanceof DiscoveryError

export async function planExperiment(loaded: LoadedExperiment, env: Environment, seed: number): Promise<{ lines: PlanLine[]; refusals: string[] }> {
  const rng = createRng(seed)
  const lines: PlanLine[] = []
  const refusals: string[] = []
  const say = (depth: number, text: string) => lines.push({ depth, text })
  const refuse = (depth: number, where: string, why: string) => {
    refusals.push(`${where}: ${why}`)
    say(depth, `REFUSED: ${why}`)
  }
  const e = loaded.experiment
  say(0, `experiment ${e.name} (${loaded.file})`)
  // whether `run` would start the environment; an environment that cannot even be asked stops a run
  let upNote: string
  let upError: string | undefined
  try {
    upNote = (await env.isUp()) ? '' : ' — not up: `run` starts it'
  } catch (err) {
    upError = message(err)
    upNote = ` — cannot tell whether it is up: ${upError}`
    refusals.push(
      `environment: cannot tell whether the ${env.kind} environment (${env.source}) is up: ${message(err)} (fix that first; \`gameday env status\` shows each part)`,
    )
  }
  say(0, `environment ${env.kind} (${env.source})${upNote}`)
  let topology: Topology | undefined
  try {
    topology = env.topology()
  } catch (err) {
    // the same cause as isUp's (AWS: discovery failed) is said once
    if (message(err) !== upError) {
      refusals.push(`environment: cannot read what the ${env.kind} environment (${env.source}) has: ${message(err)}`)
      say(0, `REFUSED: cannot read what the environment has: ${message(err)}`)
    }
  }
  say(0, `seed ${seed}`)
  say(0, 'steady state (before and after):')
  for (const p of loaded.steadyState)
    say(
      1,
      `${p.name}: ${p.probe} ${JSON.stringify(p.with)} — ${toleranceList(p.tolerance).join(', ') || 'default tolerance'}${p.during ? ` (during: ${toleranceList(p.during).join(', ')})` : ''}`,
    )
  if (e.load.length) {
    say(0, 'through the method:')
    for (const p of e.load) say(1, `${p.name}: ${p.probe} ${JSON.stringify(p.with)} — ${toleranceList(p.tolerance).join(', ') || 'default tolerance'}`)
  }
  say(0, 'method:')
  await walkSteps(
    e.method,
    async (step, { path, depth: nesting }, inner, signal) => {
      const depth = nesting + 1
      switch (step.kind) {
        case 'fault':
          await planFault(step, path, depth, { env, topology, rng: rng.fork(path), say, refuse, loaded })
          break
        case 'wait':
          say(depth, `${path} wait ${writeDuration(step.wait)}`)
          break
        case 'probe':
          say(depth, `${path} probe ${step.probe.name}: ${step.probe.probe}`)
          break
        case 'parallel':
          say(depth, `${path} in parallel:`)
          break
        case 'sequence':
          say(depth, `${path} in sequence:`)
          break
        case 'repeat':
          say(depth, `${path} repeat ${step.times} times${step.every ? ` every ${writeDuration(step.every)}` : ''}:`)
          break
      }
      await inner(signal)
    },
    'inspect',
  )
  if (e.guardrails.length) {
    say(0, 'guardrails:')
    for (const g of e.guardrails)
      say(
        1,
        'probe' in g
          ? `abort when ${g.probe}: ${g.abortWhen}`
          : 'maxDuration' in g
            ? `abort after ${writeDuration(g.maxDuration)}`
            : `abort when alarm ${g.alarm} fires`,
      )
  }
  say(0, 'rollback: every fault still active is reverted, whatever happens')
  return { lines, refusals }
}

interface FaultPlanContext {
  env: Environment
  topology: Topology | undefined
  rng: Rng
  loaded: LoadedExperiment
  say(depth: number, text: string): void
  refuse(depth: number, where: string, why: string): void
}

async function planFault(step: FaultStep, p: string, depth: number, c: FaultPlanContext): Promise<void> {
  const { env, topology, say, refuse } = c
  const type = c.loaded.registry.fault(step.fault)!
  const spec = {
    type: step.fault,
    target: step.target,
    params: type.params.parse(step.with ?? {}),
    ...(step.duration !== undefined ? { durationMs: step.duration } : {}),
  }
  say(
    depth,
    `${p} fault ${step.fault} ${JSON.stringify(step.target)}${step.duration !== undefined ? ` for ${writeDuration(step.duration)}` : ' until the method ends'}`,
  )
  // what the environment's topology alone tells: such a selector can never resolve
  const problems = topology ? selectorProblems(step.target, type.targets, topology, env.source) : []
  for (const problem of problems) refuse(depth + 1, p, problem)
  if (problems.length) return
  const ctx: FaultContext = {
    env,
    runId: 'plan',
    rng: c.rng,
    log: { info: () => {}, warn: () => {} },
    signal: new AbortController().signal,
    dryRun: true,
    evidence: () => {},
    checkpoint: () => {},
  }
  let targets
  try {
    targets = await type.resolve(ctx, spec)
  } catch (err) {
    if (refusesRun(err)) refuse(depth + 1, p, message(err))
    else say(depth + 1, `targets: resolved at injection (${message(err)})`)
    return
  }
  say(
    depth + 1,
    `targets now: ${targets.map((t) => `${t.id}${t.az ? ` (${t.az})` : ''}`).join(', ')}${step.target.role || step.target.count || step.target.percent ? ' (picked again at injection)' : ''}${targets.some((t) => t.wave !== undefined) ? ' — in waves, one after another' : ''}`,
  )
  const majority = topology && majorityProblem(step.fault, step.target, targets, topology)
  if (majority) refuse(depth + 1, p, majority)
  try {
    await env.guardrails?.checkBlastRadius(step.fault, targets, 'plan')
  } catch (err) {
    refuse(depth + 1, p, message(err))
  }
  try {
    for (const action of type.describe(ctx, spec, targets)) say(depth + 1, `would: ${action}`)
  } catch (err) {
    if (refusesRun(err)) refuse(depth + 1, p, message(err))
    else say(depth + 1, `targets: resolved at injection (${message(err)})`)
  }
}
