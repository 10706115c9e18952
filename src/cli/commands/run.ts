/** `gameday run FILE`: steady state, method, rollback, steady state; the journal and reports in reports/<run-id>/. */
import { createInterface } from 'node:readline/promises'
import type { Command } from 'commander'
import { runExperiment } from '../../engine/run.ts'
import { onRun } from '../command.ts'
import { CliError } from '../errors.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { loadEnvironmentOrFail, loadExperimentOrFail } from '../inputs.ts'
import { envOption, parseSeed } from '../options.ts'
import { log } from '../output.ts'

interface Options {
  env: string
  seed?: number
  keepEnv?: boolean
  reports: string
  yes?: boolean
  live: boolean
}

async function confirm(question: string, expected: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return (await rl.question(question)).trim() === expected
  } finally {
    rl.close()
  }
}

/** Ctrl-C / SIGTERM: the first aborts (faults reverted), the second says so, the third exits at once. */
function abortOnSignals(): AbortSignal {
  const controller = new AbortController()
  let signals = 0
  const onSignal = (sig: NodeJS.Signals) => {
    signals++
    if (signals === 1) {
      log.warn(`\n${sig}: aborting — reverting every fault and tearing down (${sig} again to leave faults in place)`)
      controller.abort(new Error(`signal ${sig}`))
    } else if (signals === 2) {
      log.warn(`${sig} again: still reverting; one more to exit at once (then run \`gameday recover\`)`)
    } else {
      process.exit(EXIT.INTERRUPTED)
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return controller.signal
}

export function define(cmd: Command): void {
  cmd
    .argument('<experiment>', 'experiment YAML file')
    .addOption(envOption())
    .option('--seed <n>', 'seed for every random pick (replays a run)', parseSeed)
    .option('--keep-env', 'leave an environment the run started running afterwards')
    .option('--reports <dir>', 'where run directories go', 'reports')
    .option('-y, --yes', 'do not ask for confirmation (required off a terminal for aws)')
    .option('--no-live', 'no per-second figures')
  onRun(cmd, async (file: string, opts: Options): Promise<ExitCode> => {
    const loaded = await loadExperimentOrFail(file)
    const env = await loadEnvironmentOrFail(opts.env)
    if (env.guardrails?.requiresConfirmation && !opts.yes) {
      if (!process.stdin.isTTY) {
        throw new CliError(`refusing to run against ${env.kind} (${env.source}) without --yes: not on a terminal, so cannot ask`, {
          hint: `review it with \`gameday plan ${file} --env ${opts.env}\`, then add --yes`,
        })
      }
      log.info(`This runs ${loaded.experiment.name} against ${env.kind} (${env.source}). Review it first with \`gameday plan ${file} --env ${opts.env}\`.`)
      if (!(await confirm(`Type the experiment name (${loaded.experiment.name}) to continue: `, loaded.experiment.name))) {
        throw new CliError('not confirmed: nothing was done')
      }
    }
    const outcome = await runExperiment({
      loaded,
      env,
      environmentName: opts.env,
      seed: opts.seed,
      keepEnv: opts.keepEnv,
      reportsDir: opts.reports,
      signal: abortOnSignals(),
      log,
      live: opts.live,
    })
    return outcome.exitCode
  })
}
