/**
 * `gameday plan`: the resolved targets and the actions of every step, without touching
 * anything. Faults resolve in dry-run mode (AWS: Describe/List/Get calls only); a role that can
 * only be resolved on a live cluster is shown as resolved at injection.
 */
import type { Environment } from '../api/environment.ts'
import type { LoadedExperiment } from '../experiment/load.ts'
import type { Step } from '../experiment/schema.ts'
import { createRng } from '../util/rng.ts'
import { toleranceList } from '../experiment/tolerance.ts'
import { GuardrailError } from '../api/errors.ts'
import { writeDuration } from '../util/duration.ts'

export interface PlanLine {
  depth: number
  text: string
}

export async function planExperiment(loaded: LoadedExperiment, env: Environment, seed: number): Promise<{ lines: PlanLine[]; refusals: string[] }> {
  const rng = createRng(seed)
  const lines: PlanLine[] = []
  const refusals: string[] = []
  const say = (depth: number, text: string) => lines.push({ depth, text })
  // plan only says whether `run` would start the environment; one it cannot ask counts as down
  const up = await env.isUp().catch(() => false)
  const e = loaded.experiment
  say(0, `experiment ${e.name} (${loaded.file})`)
  say(0, `environment ${env.kind} (${env.source})${up ? '' : ' — not up: `run` starts it'}`)
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
  const walk = async (steps: Step[], path: string, depth: number) => {
    for (const [i, step] of steps.entries()) {
      const p = `${path}[${i}]`
      if ('fault' in step) {
        const type = loaded.registry.fault(step.fault)!
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
        const ctx = {
          env,
          runId: 'plan',
          rng: rng.fork(p),
          log: { info: () => {}, warn: () => {} },
          signal: new AbortController().signal,
          dryRun: true,
          evidence: () => {},
          checkpoint: () => {},
        }
        try {
          const targets = await type.resolve(ctx, spec)
          say(
            depth + 1,
            `targets now: ${targets.map((t) => `${t.id}${t.az ? ` (${t.az})` : ''}`).join(', ')}${step.target.role || step.target.count || step.target.percent ? ' (picked again at injection)' : ''}${targets.some((t) => t.wave !== undefined) ? ' — in waves, one after another' : ''}`,
          )
          try {
            await env.guardrails?.checkBlastRadius(step.fault, targets, 'plan')
          } catch (err) {
            refusals.push(`${p}: ${(err as Error).message}`)
            say(depth + 1, `REFUSED: ${(err as Error).message}`)
          }
          for (const action of type.describe(ctx, spec, targets)) say(depth + 1, `would: ${action}`)
        } catch (err) {
          // a guardrail (allow-list, blast radius) refusing is a refusal, not a target to find later
          if (err instanceof GuardrailError) {
            refusals.push(`${p}: ${err.message}`)
            say(depth + 1, `REFUSED: ${err.message}`)
          } else say(depth + 1, `targets: resolved at injection (${(err as Error).message})`)
        }
      } else if ('wait' in step) say(depth, `${p} wait ${writeDuration(step.wait)}`)
      else if ('probe' in step) say(depth, `${p} probe ${step.probe.name}: ${step.probe.probe}`)
      else if ('parallel' in step) {
        say(depth, `${p} in parallel:`)
        await walk(step.parallel, `${p}.parallel`, depth + 1)
      } else if ('sequence' in step) {
        say(depth, `${p} in sequence:`)
        await walk(step.sequence, `${p}.sequence`, depth + 1)
      } else {
        say(depth, `${p} repeat ${step.repeat.times} times${step.repeat.every ? ` every ${writeDuration(step.repeat.every)}` : ''}:`)
        await walk(step.repeat.steps, `${p}.repeat`, depth + 1)
      }
    }
  }
  await walk(e.method, 'method', 1)
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
