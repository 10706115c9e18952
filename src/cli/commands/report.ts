/** `gameday report RUN_DIR`: result.json, junit.xml, summary.md and report.html again, from the journal alone. */
import type { Command } from 'commander'
import { writeReports } from '../../reports/write.ts'
import { onRun } from '../command.ts'
import { CliError } from '../errors.ts'
import { log, relativeToCwd } from '../output.ts'
import { openRunDir } from '../run-dir.ts'

export function define(cmd: Command): void {
  cmd.argument('<run-dir>', 'a run directory: reports/<run-id>')
  onRun(cmd, (dir: string) => {
    const run = openRunDir(dir)
    let result
    try {
      result = writeReports(run.dir)
    } catch (err) {
      // the journal passed the checks above, so what is left is an event the reports cannot read
      throw new CliError(`${relativeToCwd(run.journal)}: cannot make reports from this journal: ${(err as Error).message}`, {
        hint: 'the journal has events the reports do not expect (written by another version of gameday?); GAMEDAY_DEBUG=1 shows where',
        cause: err,
      })
    }
    log.info(`${result.experiment} ${result.status}: ${dir}/result.json, junit.xml, summary.md, report.html`)
  })
}
