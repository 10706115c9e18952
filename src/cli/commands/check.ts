/**
 * `gameday check linearizability|durability FILE...`: the checkers on histories recorded
 * elsewhere. Exit 0 ok, 1 violation, 3 unknown, 2 bad input; several files: the worst.
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import { checkDurability, checkLinearizability, LINEARIZABILITY_MODELS, type LinearizabilityModelName } from '../../checkers/cli.ts'
import { parseDuration } from '../../util/duration.ts'
import { onRun } from '../command.ts'
import { type ExitCode } from '../exit-codes.ts'
import { parseCount } from '../options.ts'

/** 10s, 500ms, or a bare number of milliseconds */
function parseBudget(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value)
  try {
    return parseDuration(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}

const print = (line: string) => process.stdout.write(line + '\n')

export function define(cmd: Command): void {
  cmd.description('check a recorded history; exit 0 ok, 1 violation, 3 unknown, 2 bad input (several files: the worst)')

  const lin = cmd
    .command('linearizability')
    .description('linearizability of a history (our JSONL, Jepsen etcd logs or EDN maps); the verdict on the last line')
    .addOption(new Option('-m, --model <model>', 'the data type the history is of').choices(Object.keys(LINEARIZABILITY_MODELS)).makeOptionMandatory())
    .option('--budget <duration>', 'search time budget per file (10s, 500ms; a bare number is ms); spent = unknown', parseBudget)
    .argument('<files...>', 'history files')
  onRun(lin, async (files: string[], opts: { model: LinearizabilityModelName; budget?: number }) => {
    const controller = new AbortController()
    process.once('SIGINT', () => controller.abort(new Error('SIGINT')))
    return (await checkLinearizability(files, { model: opts.model, budgetMs: opts.budget, signal: controller.signal, out: print })) as ExitCode
  })

  const dur = cmd
    .command('durability')
    .description('durability of a publish/read history: lost, unexpected, duplicated, recovered, unknown')
    .option('--first <n>', 'how many lost / unexpected values to list', parseCount)
    .argument('<files...>', 'history files')
  onRun(dur, async (files: string[], opts: { first?: number }) => (await checkDurability(files, { firstN: opts.first, out: print })) as ExitCode)
}
