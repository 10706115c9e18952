/** What `runExperiment` returns: the run's result.json, with a way to pick one probe's verdict. */
import type { Phase } from '../api/probe.ts'
import type { ProbeVerdict, RunResult } from '../reports/result.ts'

export type { ProbeVerdict, RunResult }

export interface ExperimentResult extends RunResult {
  /** where the journal and reports were written */
  runDir: string
  /** what `gameday run` would exit with: 0 passed, 1 deviated, 2 aborted or errored */
  exitCode: 0 | 1 | 2 | 3
  /** the run's console output, line by line (printed only with `verbose: true`) */
  output: string[]
  /**
   * One probe's verdict. Without `phase`, the last one recorded: `after` for a steady-state
   * probe, `during` for a load probe. Throws, listing what ran, when there is none.
   */
  probe(name: string, phase?: Phase): ProbeVerdict
  /** every verdict of a probe, in the order they were recorded */
  verdicts(name: string): ProbeVerdict[]
}

export function withAccessors(result: RunResult, extra: { runDir: string; exitCode: 0 | 1 | 2 | 3; output: string[] }): ExperimentResult {
  const verdicts = (name: string) => result.probes.filter((p) => p.name === name)
  return {
    ...result,
    ...extra,
    verdicts,
    probe(name, phase) {
      const all = verdicts(name)
      const found = phase ? all.filter((p) => p.phase === phase).at(-1) : all.at(-1)
      if (!found) {
        const ran = result.probes.map((p) => `${p.name} (${p.phase})`).join(', ') || 'none'
        throw new Error(`no verdict for probe "${name}"${phase ? ` in phase ${phase}` : ''} in run ${result.runId} (verdicts: ${ran})`)
      }
      return found
    },
  }
}
