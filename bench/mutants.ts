/**
 * npm run mutants — the detection power of the shipped experiments, measured: each experiment
 * of the mutation table (bench/mutant-table.ts) runs on the local environment against the
 * reference target as it is (the baseline), then once per broken variant it must catch, and
 * the outcome of each pair is printed:
 *
 *   caught        the variant run deviated (the failed tolerances are named)
 *   missed        the variant run passed: the experiment cannot see this bug
 *   inconclusive  the variant run said its verdict rested on no evidence
 *   error         the run aborted or errored
 *   pending       the variant is still being added to the target: not run, never counted caught
 *
 * and the detection rate: caught / pairs run. A catch counts only next to a baseline that
 * passed — otherwise it cannot be told from a false alarm, and the line says so.
 *
 *   npm run mutants                                   # every pair (about half an hour on 2 cores)
 *   npm run mutants -- --only nats-node-kill,gateway-rolling-drain
 *   npm run mutants -- --no-baseline                  # variants only
 *
 * A benchmark, not a test: heavy, and it never fails. Reports go to a temporary directory,
 * named in the output. On a shared machine run it under the team's lock.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultRegistry } from '../src/builtins.ts'
import { runExperiment } from '../src/engine/run.ts'
import { loadExperiment } from '../src/experiment/load.ts'
import { formatIssue } from '../src/experiment/yaml-source.ts'
import { loadEnvironment } from '../src/environments/load.ts'
import type { RunResult } from '../src/reports/result.ts'
import { formatMetric } from '../src/experiment/tolerance.ts'
import { REPO_ROOT } from '../src/util/node-entry.ts'
import { MUTANT_TABLE, type ExperimentRow, type MutantPair } from './mutant-table.ts'
import { variantEnvironmentFile } from './mutant-env.ts'

type Outcome = 'caught' | 'missed' | 'inconclusive' | 'error' | 'pending' | 'aws only' | 'no variant'

interface Line {
  experiment: string
  variant: string
  services: string[]
  baseline: string
  outcome: Outcome
  evidence: string
  runDir?: string
  seconds?: number
}

const args = process.argv.slice(2)
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',').map((e) => e.replace(/\.yaml$/, '')) : undefined
const withBaseline = !args.includes('--no-baseline')
const reportsDir = mkdtempSync(join(tmpdir(), 'gameday-mutants-'))
const quiet = { info: () => {}, warn: () => {} }

/** One run of an experiment against the target with `pair`'s variant (or as it is), on a fresh local environment. */
async function run(
  experiment: string,
  pair?: MutantPair,
  serviceEnv?: ExperimentRow['serviceEnv'],
): Promise<{ result: RunResult; runDir: string; seconds: number }> {
  const loaded = await loadExperiment(join(REPO_ROOT, 'experiments', experiment), defaultRegistry())
  if (!loaded.ok) throw new Error(loaded.issues.map(formatIssue).join('\n'))
  process.env.GAMEDAY_LOCAL_STATE_DIR = mkdtempSync(join(tmpdir(), 'gameday-mutants-state-'))
  const envFile = pair || serviceEnv ? variantEnvironmentFile(pair?.variant, pair?.services ?? [], serviceEnv) : 'local'
  const env = await loadEnvironment(envFile)
  const t0 = performance.now()
  const outcome = await runExperiment({
    loaded: loaded.loaded,
    env,
    environmentName: pair ? `local + ${pair.variant}` : 'local',
    reportsDir,
    log: quiet,
    live: false,
  })
  return { result: outcome.result, runDir: outcome.runDir, seconds: Math.round((performance.now() - t0) / 1000) }
}

/** The failed tolerances and violations of a run, in a line. */
function failures(r: RunResult): string {
  const failed = r.probes.filter((p) => p.verdict === 'fail')
  return failed
    .map((p) => {
      const t = p.tolerances.filter((x) => !x.ok).map((x) => `${x.tolerance} (${formatMetric(x.metric, x.actual)})`)
      return `${p.name}/${p.phase}: ${[...t, ...p.violations].join(', ')}`
    })
    .join('; ')
}

function outcomeOf(r: RunResult): Outcome {
  return r.status === 'deviated' ? 'caught' : r.status === 'passed' ? 'missed' : r.status === 'inconclusive' ? 'inconclusive' : 'error'
}

async function experimentLines(row: ExperimentRow): Promise<Line[]> {
  const name = row.experiment.replace(/\.yaml$/, '')
  if (row.pending)
    return row.pairs.map((p) => ({
      experiment: name,
      variant: p.variant,
      services: p.services,
      baseline: '—',
      outcome: 'pending',
      evidence: `experiment added by ${row.pending}`,
    }))
  if (!row.local && !row.pairs.length) return [{ experiment: name, variant: '—', services: [], baseline: '—', outcome: 'aws only', evidence: row.note ?? '' }]
  if (!row.local)
    return row.pairs.map((p) => ({ experiment: name, variant: p.variant, services: p.services, baseline: '—', outcome: 'aws only', evidence: row.note ?? '' }))
  const runnable = row.pairs.filter((p) => !p.pending)
  let baseline = 'not run'
  if (withBaseline && runnable.length) {
    process.stderr.write(`${name}: baseline… `)
    try {
      const b = await run(row.experiment, undefined, row.serviceEnv)
      baseline = b.result.status
      process.stderr.write(`${baseline} in ${b.seconds}s (${b.runDir})\n`)
    } catch (err) {
      baseline = 'error'
      process.stderr.write(`error: ${(err as Error).message}\n`)
    }
  }
  const lines: Line[] = []
  for (const pair of row.pairs) {
    if (pair.pending) {
      lines.push({ experiment: name, variant: pair.variant, services: pair.services, baseline, outcome: 'pending', evidence: `added by ${pair.pending}` })
      continue
    }
    process.stderr.write(`${name} + ${pair.variant}@${pair.services.join(',')}… `)
    try {
      const { result, runDir, seconds } = await run(row.experiment, pair, row.serviceEnv)
      const outcome = outcomeOf(result)
      const evidence =
        outcome === 'caught'
          ? failures(result)
          : outcome === 'inconclusive'
            ? result.probes.flatMap((p) => (p.inconclusive ?? []).map((w) => `${p.name}: ${w}`)).join('; ')
            : (result.reason ?? '')
      const suspect = outcome === 'caught' && baseline !== 'passed' && baseline !== 'not run' ? ` (baseline ${baseline}: not attributable)` : ''
      lines.push({ experiment: name, variant: pair.variant, services: pair.services, baseline, outcome, evidence: evidence + suspect, runDir, seconds })
      process.stderr.write(`${outcome} in ${seconds}s (${runDir})\n`)
    } catch (err) {
      lines.push({ experiment: name, variant: pair.variant, services: pair.services, baseline, outcome: 'error', evidence: (err as Error).message })
      process.stderr.write(`error: ${(err as Error).message}\n`)
    }
  }
  if (!row.pairs.length) lines.push({ experiment: name, variant: '—', services: [], baseline, outcome: 'no variant', evidence: row.note ?? '' })
  return lines
}

const lines: Line[] = []
for (const row of MUTANT_TABLE) {
  if (only && !only.includes(row.experiment.replace(/\.yaml$/, ''))) continue
  lines.push(...(await experimentLines(row)))
}
delete process.env.GAMEDAY_LOCAL_STATE_DIR

const ICON: Record<Outcome, string> = {
  caught: '✅ caught',
  missed: '❌ missed',
  inconclusive: '❔ inconclusive',
  error: '⚠️ error',
  pending: '⏳ pending',
  'aws only': '☁️ aws only',
  'no variant': '➖ no variant',
}
console.log('\n| experiment | variant | baseline | outcome | evidence |')
console.log('|---|---|---|---|---|')
for (const l of lines)
  console.log(
    `| ${l.experiment} | ${l.variant === '—' ? '— (no variant)' : `\`${l.variant}\` on ${l.services.join(', ')}`} | ${l.baseline} | ${ICON[l.outcome]} | ${l.evidence.replaceAll('|', '\\|')} |`,
  )
const ran = lines.filter((l) => ['caught', 'missed', 'inconclusive', 'error'].includes(l.outcome) && l.variant !== '—')
const caught = ran.filter((l) => l.outcome === 'caught' && !l.evidence.includes('not attributable')).length
const uncaught = [
  ...new Set(lines.filter((l) => l.experiment && !lines.some((m) => m.experiment === l.experiment && m.outcome === 'caught')).map((l) => l.experiment)),
]
console.log(
  `\ndetection rate: ${caught} of ${ran.length} pairs run caught (${ran.length ? Math.round((100 * caught) / ran.length) : 0} %); ` +
    `${lines.filter((l) => l.outcome === 'pending').length} pending; experiments catching nothing yet: ${uncaught.join(', ') || 'none'}`,
)
console.log(`reports: ${reportsDir}`)
