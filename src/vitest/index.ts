/**
 * Gameday for vitest: run an experiment from a test, with the real engine, and assert on it.
 *
 *   import { runExperiment } from 'gameday/vitest'
 *
 *   test('meta leader loss keeps the SLO', async () => {
 *     const result = await runExperiment('experiments/nats-node-kill.yaml', { env: 'containers' })
 *     expect(result).toHoldSteadyState()
 *     expect(result.probe('gateway-load')).toMeet({ successRate: '>= 95%', p99: '< 2s' })
 *   }, 120_000)
 *
 * The run is the one `gameday run` makes — same engine, same journal and reports (written to a
 * temporary directory unless `reportsDir` is given), same guarantee that every fault is reverted
 * — and an environment the run had to start is torn down after it unless `keepEnv`.
 */
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { expect } from 'vitest'
import type { Environment, Logger } from '../api/environment.ts'
import { ValidationError } from '../api/errors.ts'
import { defaultRegistry } from '../builtins.ts'
import { runExperiment as runEngine } from '../engine/run.ts'
import { loadExperiment } from '../experiment/load.ts'
import { formatIssue } from '../experiment/yaml-source.ts'
import { loadEnvironment } from '../environments/load.ts'
import { REPO_ROOT } from '../util/node-entry.ts'
import { gamedayMatchers, type GamedayMatchers } from './matchers.ts'
import { withAccessors, type ExperimentResult } from './result.ts'

export type { ExperimentResult, ProbeVerdict, RunResult } from './result.ts'
export { gamedayMatchers, holdsSteadyState, meets, toleranceFor, type Expectations, type GamedayMatchers } from './matchers.ts'

export interface RunExperimentOptions {
  /** local (default) | containers | aws | an environment file | an Environment you built */
  env?: string | Environment
  /** replay a run's random choices; default: the experiment's seed, else a random one */
  seed?: number
  /** leave up an environment this run had to start (default: tear it down) */
  keepEnv?: boolean
  /** where to write the run directory (journal, result.json, JUnit, Markdown); default: a temp dir */
  reportsDir?: string
  /** abort the run (its faults are still reverted) */
  signal?: AbortSignal
  /** print the run's output as it goes (it is always kept in result.output) */
  verbose?: boolean
}

function experimentFile(file: string): string {
  const inCwd = resolve(file)
  return existsSync(inCwd) ? inCwd : resolve(REPO_ROOT, file)
}

export async function runExperiment(file: string, opts: RunExperimentOptions = {}): Promise<ExperimentResult> {
  const path = experimentFile(file)
  const loaded = await loadExperiment(path, defaultRegistry())
  if (!loaded.ok) throw new ValidationError(loaded.issues.map(formatIssue).join('\n'), loaded.issues)
  const env = typeof opts.env === 'object' ? opts.env : await loadEnvironment(opts.env ?? 'local')
  const output: string[] = []
  const log: Logger = {
    info: (m) => {
      output.push(...m.split('\n'))
      if (opts.verbose) process.stdout.write(m + '\n')
    },
    warn: (m) => {
      output.push(...m.split('\n'))
      if (opts.verbose) process.stderr.write(m + '\n')
    },
  }
  const outcome = await runEngine({
    loaded: loaded.loaded,
    env,
    environmentName: typeof opts.env === 'object' ? opts.env.kind : (opts.env ?? 'local'),
    seed: opts.seed,
    reportsDir: opts.reportsDir ?? mkdtempSync(join(tmpdir(), 'gameday-vitest-')),
    keepEnv: opts.keepEnv,
    signal: opts.signal,
    log,
    live: false,
  })
  return withAccessors(outcome.result, { runDir: outcome.runDir, exitCode: outcome.exitCode, output })
}

expect.extend(gamedayMatchers)

declare module 'vitest' {
  // vitest's documented way to type custom matchers: empty interfaces that merge into its own
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Assertion<T = any> extends GamedayMatchers<T> {}
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AsymmetricMatchersContaining extends GamedayMatchers {}
}
