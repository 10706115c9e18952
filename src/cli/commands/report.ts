/**
 * `gameday report RUN_DIR`: result.json, junit.xml, summary.md and report.html again, from the
 * journal alone. `gameday report --index DIR`: DIR/index.html, every run under DIR with its
 * verdict and score, and each experiment's trend.
 */
import type { Command } from 'commander'
import { writeReports } from '../../reports/write.ts'
import { onRun } from '../command.ts'
import { CliError } from '../errors.ts'
import { log, relativeToCwd } from '../output.ts'
import { openRunDir } from '../run-dir.ts'

export function define(cmd: Command): void {
  cmd
    .argument('[run-dir]', 'a run directory: reports/<run-id>')
    .option('--index <reports-dir>', 'write <reports-dir>/index.html: every run, its verdict and score, each experiment’s trend')
  onRun(cmd, async (dir: string | undefined, opts: { index?: string }) => {
    if (opts.index) {
      const { indexCommand } = await import('../../reports/commands.ts')
      indexCommand(opts.index, { out: (t) => process.stdout.write(t) })
      return
    }
    if (!dir)
      throw new CliError('give a run directory, or --index with a folder of runs', {
        hint: 'gameday report reports/<run-id>, or gameday report --index reports',
      })
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
