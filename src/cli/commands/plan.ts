/** `gameday plan FILE`: the resolved targets and every action, touching nothing; exit 2 when a guardrail refuses a step. */
import type { Command } from 'commander'
import { planExperiment } from '../../engine/plan.ts'
import { randomSeed } from '../../util/rng.ts'
import { onRun } from '../command.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { loadEnvironmentOrFail, loadExperimentOrFail } from '../inputs.ts'
import { envOption, parseSeed } from '../options.ts'
import { log } from '../output.ts'

export function define(cmd: Command): void {
  cmd
    .argument('<experiment>', 'experiment YAML file')
    .addOption(envOption())
    .option('--seed <n>', 'seed for random picks (default: the experiment’s, else a random one)', parseSeed)
  onRun(cmd, async (file: string, opts: { env: string; seed?: number }): Promise<ExitCode> => {
    const loaded = await loadExperimentOrFail(file)
    const env = await loadEnvironmentOrFail(opts.env)
    try {
      const { lines, refusals } = await planExperiment(loaded, env, opts.seed ?? loaded.experiment.seed ?? randomSeed())
      for (const l of lines) log.info(`${'  '.repeat(l.depth)}${l.text}`)
      if (!refusals.length) return EXIT.OK
      log.warn(`\nguardrails refuse ${refusals.length} step(s):\n${refusals.map((r) => `  ${r}`).join('\n')}`)
      return EXIT.ERROR
    } finally {
      await env.close?.()
    }
  })
}
