/** `gameday compare RUN_A RUN_B [--html FILE]`: two runs of one experiment side by side; exit 1 when B has a new deviation. */
import type { Command } from 'commander'
import { onRun } from '../command.ts'
import { EXIT } from '../exit-codes.ts'

export function define(cmd: Command): void {
  cmd
    .argument('<run-a>', 'the earlier run: reports/<run-id>')
    .argument('<run-b>', 'the later run')
    .option('--html <file>', 'also write the comparison as a page')
  onRun(cmd, async (a: string, b: string, opts: { html?: string }) => {
    const { compareCommand } = await import('../../reports/commands.ts')
    return compareCommand(a, b, { html: opts.html, out: (t) => process.stdout.write(t) }) ? EXIT.FINDING : EXIT.OK
  })
}
