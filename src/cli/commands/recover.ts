/**
 * `gameday recover RUN_DIR`: revert every fault a crashed or killed run left behind, from its
 * journal, against the environment it ran in (or the one --env names). Exit 0 when nothing is
 * left, 2 when a revert failed.
 */
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { defaultRegistry } from '../../builtins.ts'
import { recoverRun } from '../../engine/recover.ts'
import { loadExperiment } from '../../experiment/load.ts'
import { onRun } from '../command.ts'
import { CliError } from '../errors.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { loadEnvironmentOrFail } from '../inputs.ts'
import { log, relativeToCwd } from '../output.ts'
import { openRunDir } from '../run-dir.ts'

const envHint = (dir: string) =>
  `say which environment the run injected its faults into: \`gameday recover ${dir} --env local\` (or containers, aws, an environment file)`

export function define(cmd: Command): void {
  cmd
    .argument('<run-dir>', 'a run directory: reports/<run-id>')
    .option('-e, --env <env>', 'environment (default: the file the run used, as its journal records it)')
  onRun(cmd, async (dir: string, opts: { env?: string }): Promise<ExitCode> => {
    const { started } = openRunDir(dir)
    if (!opts.env) {
      const file = started.environmentFile
      if (typeof file !== 'string' || !file)
        throw new CliError(`${relativeToCwd(dir)}: the journal does not say which environment file the run used`, { hint: envHint(dir) })
      if (!existsSync(file)) throw new CliError(`the run used the environment file ${file}, which is not here`, { hint: envHint(dir) })
    }
    const env = await loadEnvironmentOrFail(opts.env ?? started.environmentFile)
    try {
      // the experiment's extensions may define the faults to revert
      const experiment =
        typeof started.experimentFile === 'string' && existsSync(started.experimentFile)
          ? await loadExperiment(started.experimentFile, defaultRegistry())
          : undefined
      if (experiment && !experiment.ok) log.warn(`${started.experimentFile} no longer loads: reverting with the built-in faults only`)
      const registry = experiment?.ok ? experiment.loaded.registry : defaultRegistry()
      const { reverted, failed } = await recoverRun(dir, env, registry, log)
      log.info(`recover: ${reverted} reverted, ${failed} failed`)
      return failed ? EXIT.ERROR : EXIT.OK
    } finally {
      await env.close?.()
    }
  })
}
