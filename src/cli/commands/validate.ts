/** `gameday validate FILE...`: every problem of every file as file:line:col; exit 1 when any has one. */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { defaultRegistry } from '../../builtins.ts'
import { loadExperiment } from '../../experiment/load.ts'
import { onRun } from '../command.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { log, relativeToCwd } from '../output.ts'

export function define(cmd: Command): void {
  cmd.argument('<files...>', 'experiment YAML files')
  onRun(cmd, async (files: string[]): Promise<ExitCode> => {
    const registry = defaultRegistry()
    let bad = 0
    for (const file of files) {
      const result = await loadExperiment(resolve(file), registry)
      if (result.ok) {
        log.info(`${file}: ok`)
        continue
      }
      bad++
      for (const issue of result.issues) log.warn(`${relativeToCwd(issue.file)}:${issue.line}:${issue.col}: ${issue.message}`)
    }
    if (bad) log.warn(`${bad} of ${files.length} file(s) with problems`)
    return bad ? EXIT.FINDING : EXIT.OK
  })
}
