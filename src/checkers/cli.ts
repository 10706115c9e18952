/**
 * The checkers as commands: `gameday check linearizability --model cas-register|kv FILE...` and
 * `gameday check durability FILE...` call these (the main CLI wires the options), and so does the
 * standalone runner src/checkers/main.ts.
 *
 * One file: details, then the verdict alone on the last line. Several files: one `FILE: verdict`
 * line each. Exit codes:
 *   linearizability  0 linearizable, 1 not linearizable, 3 unknown (budget spent / aborted / no operations)
 *   durability       0 ok, 1 lost or unexpected values, 3 unknown (nothing acknowledged: no evidence)
 *   both             2 unreadable input (`file:line: message`)
 * With several files the exit code is the worst one: 2 (bad input) > 3 (unknown) > 1 > 0.
 */
import { readFile } from 'node:fs/promises'
import { parseDuration } from '../util/duration.ts'
import { durabilityVerdict, DurabilityParseError, formatDurability, readDurabilityFile } from './durability.ts'
import { HistoryParseError, parseHistory } from './history-formats/index.ts'
import { checkOperations, formatCounterexample, InvalidOperationError } from './linearizability/checker.ts'
import type { CheckResult, Model } from './linearizability/model.ts'
import { casRegisterPerKey } from './linearizability/models/cas-register.ts'
import { kv } from './linearizability/models/kv.ts'

export const EXIT_OK = 0
export const EXIT_VIOLATION = 1
export const EXIT_BAD_INPUT = 2
export const EXIT_UNKNOWN = 3

const SEVERITY: Record<number, number> = { [EXIT_OK]: 0, [EXIT_VIOLATION]: 1, [EXIT_UNKNOWN]: 2, [EXIT_BAD_INPUT]: 3 }

/** the worse of two exit codes */
export function worstExit(a: number, b: number): number {
  return (SEVERITY[a] ?? 3) >= (SEVERITY[b] ?? 3) ? a : b
}

export type LinearizabilityModelName = 'cas-register' | 'kv'

/** `cas-register` is checked per key (a history without keys is one register). */
export const LINEARIZABILITY_MODELS: Record<LinearizabilityModelName, Model<any, any, any>> = {
  'cas-register': casRegisterPerKey,
  kv,
}

export interface LinearizabilityCommandOptions {
  model: LinearizabilityModelName
  /** per file; when spent the verdict is `unknown` */
  budgetMs?: number
  signal?: AbortSignal
  out: (line: string) => void
}

const VERDICT_TEXT: Record<CheckResult['verdict'], string> = {
  linearizable: 'linearizable',
  'not-linearizable': 'not linearizable',
  unknown: 'unknown',
}
const VERDICT_EXIT: Record<CheckResult['verdict'], number> = {
  linearizable: EXIT_OK,
  'not-linearizable': EXIT_VIOLATION,
  unknown: EXIT_UNKNOWN,
}

/** The line to print for a file that could not be read or parsed; undefined for any other error. */
function inputError(file: string, err: unknown): string | undefined {
  if (err instanceof InvalidOperationError) return `${file}:${err.op.line ?? '?'}: ${err.reason}`
  if (err instanceof HistoryParseError || err instanceof DurabilityParseError) return err.message
  const e = err as NodeJS.ErrnoException
  if (!e?.code) return undefined
  if (e.code === 'ENOENT') return `${file}: no such file`
  if (e.code === 'EISDIR') return `${file}: is a directory`
  return `${file}: ${e.message ?? String(err)}`
}

/** What one file's check says: its exit code, the verdict line, and the lines before it (one file). */
interface FileVerdict {
  exit: number
  verdict: string
  details: string[]
}

/**
 * Checks each file: one file prints its details and then the verdict alone on the last line;
 * several print `FILE: verdict` each. Unreadable input is reported and counted, not thrown.
 * Returns the worst exit code.
 */
async function checkEachFile(files: string[], out: (line: string) => void, check: (file: string) => Promise<FileVerdict>): Promise<number> {
  if (files.length === 0) {
    out('no history file given')
    return EXIT_BAD_INPUT
  }
  let exit = EXIT_OK
  for (const file of files) {
    let result: FileVerdict
    try {
      result = await check(file)
    } catch (err) {
      const message = inputError(file, err)
      if (message === undefined) throw err
      out(message)
      exit = worstExit(exit, EXIT_BAD_INPUT)
      continue
    }
    exit = worstExit(exit, result.exit)
    if (files.length > 1) {
      out(`${file}: ${result.verdict}`)
      continue
    }
    for (const line of result.details) out(line)
    out(result.verdict)
  }
  return exit
}

export async function checkLinearizability(files: string[], opts: LinearizabilityCommandOptions): Promise<number> {
  const model = LINEARIZABILITY_MODELS[opts.model]
  if (!model) {
    opts.out(`unknown model ${JSON.stringify(opts.model)} (expected ${Object.keys(LINEARIZABILITY_MODELS).join(' or ')})`)
    return EXIT_BAD_INPUT
  }
  return checkEachFile(files, opts.out, async (file) => {
    const ops = parseHistory(await readFile(file, 'utf8'), file)
    const result = await checkOperations(model, ops, { budgetMs: opts.budgetMs, signal: opts.signal })
    const parts = result.partitions === 1 ? '1 partition' : `${result.partitions} partitions`
    const details = [
      `${file}: ${result.operations} operations, ${parts}, model ${model.name}, ${result.steps} search steps in ${result.elapsedMs.toFixed(0)} ms`,
    ]
    if (result.counterexample) details.push(...formatCounterexample(result.counterexample))
    if (result.verdict === 'unknown' && result.reason === 'no-operations') {
      details.push('no operation constrains the register (the history is empty, comments only, or only failed reads): no evidence, and that is not a pass')
    } else if (result.verdict === 'unknown') {
      const why = result.reason === 'aborted' ? 'aborted' : `budget of ${opts.budgetMs} ms spent`
      details.push(`undecided: ${result.undecided} of ${result.partitions} partition(s) (${why}); this is not a pass`)
    }
    return { exit: VERDICT_EXIT[result.verdict], verdict: VERDICT_TEXT[result.verdict], details }
  })
}

export interface DurabilityCommandOptions {
  /** how many lost / unexpected values to list (default 20) */
  firstN?: number
  out: (line: string) => void
}

export async function checkDurability(files: string[], opts: DurabilityCommandOptions): Promise<number> {
  if (opts.firstN !== undefined && !(Number.isInteger(opts.firstN) && opts.firstN >= 0)) {
    opts.out(`--first needs a whole number ≥ 0 (how many lost values to list), got ${opts.firstN}`)
    return EXIT_BAD_INPUT
  }
  return checkEachFile(files, opts.out, async (file) => {
    const started = performance.now()
    const result = readDurabilityFile(file).check({ firstN: opts.firstN })
    return {
      exit: !result.valid ? EXIT_VIOLATION : result.noEvidence ? EXIT_UNKNOWN : EXIT_OK,
      verdict: durabilityVerdict(result),
      details: [`${file}: ${result.writers.length} writer(s), checked in ${(performance.now() - started).toFixed(0)} ms`, ...formatDurability(result)],
    }
  })
}

const USAGE = ['usage: check linearizability --model cas-register|kv [--budget 10s] FILE...', '       check durability [--first N] FILE...']

/**
 * Minimal argv handling for the standalone runner: `check linearizability …` / `check durability …`
 * (the leading `check` is optional). Returns the exit code.
 */
export async function runCheckCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = argv[0] === 'check' ? argv.slice(1) : argv.slice()
  const what = args.shift()
  const files: string[] = []
  let model: string | undefined
  let budgetMs: number | undefined
  let firstN: number | undefined
  try {
    while (args.length > 0) {
      const a = args.shift()!
      const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
      const value = () => {
        const v = inline ?? args.shift()
        if (v === undefined) throw new Error(`${flag} needs a value`)
        return v
      }
      if (flag === '--model' || flag === '-m') model = value()
      else if (flag === '--budget') {
        const v = value()
        budgetMs = /^\d+(\.\d+)?$/.test(v) ? Number(v) : parseDuration(v) // a bare number is ms
      } else if (flag === '--first') {
        const v = value()
        firstN = /^\d+$/.test(v) ? Number(v) : NaN
        if (!Number.isInteger(firstN)) throw new Error(`--first needs a whole number ≥ 0, got ${JSON.stringify(v)}`)
      } else if (flag === '--help' || flag === '-h') {
        USAGE.forEach((l) => out(l))
        return EXIT_OK
      } else if (flag.startsWith('-') && flag !== '-') throw new Error(`unknown option ${flag}`)
      else files.push(a)
    }
  } catch (err) {
    out((err as Error).message)
    USAGE.forEach((l) => out(l))
    return EXIT_BAD_INPUT
  }
  if (what === 'linearizability') {
    if (model === undefined) {
      out('--model is required (cas-register or kv)')
      return EXIT_BAD_INPUT
    }
    return checkLinearizability(files, { model: model as LinearizabilityModelName, budgetMs, out })
  }
  if (what === 'durability') return checkDurability(files, { firstN, out })
  USAGE.forEach((l) => out(l))
  return EXIT_BAD_INPUT
}
