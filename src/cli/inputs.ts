/**
 * Loading what a command is given — an experiment, an environment — and turning what goes wrong
 * into a CliError with a next step.
 */
import { resolve } from 'node:path'
import type { Environment } from '../api/environment.ts'
import { ValidationError } from '../api/errors.ts'
import { defaultRegistry } from '../builtins.ts'
import { loadExperiment, type LoadedExperiment } from '../experiment/load.ts'
import { loadEnvironment } from '../environments/load.ts'
import { environmentFile } from '../environments/locate.ts'
import { CliError } from './errors.ts'
import { EXIT } from './exit-codes.ts'
import { relativeToCwd } from './output.ts'

export async function loadExperimentOrFail(file: string): Promise<LoadedExperiment> {
  const result = await loadExperiment(resolve(file), defaultRegistry())
  if (result.ok) return result.loaded
  throw new CliError(`${file}: ${result.issues.length} problem(s)`, {
    issues: result.issues,
    hint: `fix ${result.issues.length === 1 ? 'it' : 'them'}, then \`gameday validate ${file}\` checks again without touching anything`,
  })
}

const ENV_HINT = '--env takes local, containers, aws (environments/<name>.yaml) or a path to an environment file; `gameday init` writes a starting one'

export async function loadEnvironmentOrFail(nameOrFile: string): Promise<Environment> {
  try {
    return await loadEnvironment(nameOrFile)
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err
    const file = relativeToCwd(environmentFile(nameOrFile))
    const issues = err.issues ?? []
    throw new CliError(err.message, {
      issues,
      hint: issues.length ? `fix ${file}; ${ENV_HINT}` : ENV_HINT,
      exitCode: EXIT.ERROR,
      cause: err,
    })
  }
}
