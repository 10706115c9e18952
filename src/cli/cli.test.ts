/**
 * The command line on bad input, in-process (runCli is main.ts without the exit): every failure
 * is one line with a next step and a documented exit code, never a stack trace.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { REPO_ROOT } from '../util/node-entry.ts'
import { runCli } from './cli.ts'
import { COMMANDS } from './commands/index.ts'

const work = mkdtempSync(join(tmpdir(), 'gameday-cli-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
afterEach(() => {
  vi.restoreAllMocks()
  delete process.env.GAMEDAY_DEBUG
})

const STACK_LINE = /^\s+at .+\(?.+:\d+:\d+\)?$/m

async function gameday(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true))
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true))
  try {
    const code = await runCli(argv)
    return { code, out, err }
  } finally {
    vi.restoreAllMocks()
  }
}

/** the common shape of a refusal: exit 2, a first line that says what, a hint, no stack trace */
function expectRefusal(r: { code: number; out: string; err: string }, says: RegExp): void {
  expect(r.code, r.err).toBe(2)
  expect(r.err).toMatch(says)
  expect(r.err).toMatch(/^hint: /m)
  expect(r.err + r.out).not.toMatch(STACK_LINE)
}

function dir(name: string, journal?: string | null): string {
  const d = join(work, name)
  mkdirSync(d, { recursive: true })
  if (typeof journal === 'string') writeFileSync(join(d, 'journal.jsonl'), journal)
  return d
}

describe('help and exit codes', () => {
  it('--help lists every command and documents every exit code', async () => {
    const r = await gameday('--help')
    expect(r.code).toBe(0)
    for (const c of COMMANDS) expect(r.out).toMatch(new RegExp(`^  ${c.name}\\s+${c.summary.slice(0, 20).replace(/[()[\]]/g, '\\$&')}`, 'm'))
    for (const code of [0, 1, 2, 3, 130]) expect(r.out).toMatch(new RegExp(`^  ${code}\\s+\\S`, 'm'))
  })

  it('no command: the help on stderr, exit 2', async () => {
    const r = await gameday()
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^Usage: gameday/m)
  })

  it('a command group without its subcommand: its help on stderr, exit 2', async () => {
    const r = await gameday('env')
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^Usage: gameday env \[options\] \[command\]/m)
    expect(r.err).toMatch(/^ {2}status /m)
  })

  it('help COMMAND is COMMAND --help', async () => {
    const r = await gameday('help', 'plan')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^Usage: gameday plan \[options\] <experiment>/m)
    expect(r.out).toMatch(/--seed <n>/)
  })

  it('an unknown command, even with --help, is named and exits 2 (not the top-level help and 0)', async () => {
    const r = await gameday('comparee', '--help')
    expectRefusal(r, /^gameday: unknown command "comparee"$/m)
    expect(r.out).toBe('')
    expectRefusal(await gameday('chek', 'durability'), /did you mean `gameday check`/)
    expectRefusal(await gameday('help', 'nope'), /unknown command "nope"/)
  })

  it('an unknown subcommand, even with --help, is named and exits 2', async () => {
    expectRefusal(await gameday('env', 'nope', '--help'), /^gameday env: unknown command "nope"$/m)
    expectRefusal(await gameday('check', 'linearisability', 'x'), /did you mean `gameday check linearizability`/)
  })

  it('an unknown option or a missing argument: one line naming it, a hint, exit 2', async () => {
    expectRefusal(await gameday('validate', '--frobnicate', 'x.yaml'), /^gameday validate: unknown option '--frobnicate'$/m)
    expectRefusal(await gameday('report'), /^gameday report: give a run directory, or --index with a folder of runs$/m)
    expectRefusal(await gameday('recover'), /^gameday recover: missing required argument 'run-dir'$/m)
    expectRefusal(await gameday('--env', 'local', 'plan', 'x.yaml'), /^gameday: unknown option "--env" before the command$/m)
    expectRefusal(await gameday('--frobnicate'), /^gameday: unknown option '--frobnicate'$/m)
  })
})

describe('values are checked where they are given', () => {
  const experiment = join(REPO_ROOT, 'experiments/nats-node-kill.yaml')

  it('plan --seed banana, --seed -1, --seed 1.5 are refused (was: seed NaN)', async () => {
    for (const seed of ['banana', '-1', '1.5', '12abc']) {
      expectRefusal(await gameday('plan', experiment, '--seed', seed), /gameday plan: option '--seed <n>' argument .* is invalid\. a seed is a whole number/)
    }
  })

  it('check durability --first abc / -1 is refused', async () => {
    for (const first of ['abc', '-1', '2.5']) {
      expectRefusal(await gameday('check', 'durability', '--first', first, 'h.dur'), /--first <n>' argument .* is invalid/)
    }
  })

  it('check linearizability: a model it does not know, or none, is refused', async () => {
    expectRefusal(await gameday('check', 'linearizability', '--model', 'queue', 'h.jsonl'), /Allowed choices are cas-register, kv/)
    expectRefusal(await gameday('check', 'linearizability', 'h.jsonl'), /required option '-m, --model <model>' not specified/)
    expectRefusal(await gameday('check', 'linearizability', '--model', 'kv', '--budget', 'soon', 'h.jsonl'), /--budget <duration>' argument 'soon' is invalid/)
  })
})

describe('report and recover on what is not a run', () => {
  const cases: [string, () => string, RegExp][] = [
    ['a missing folder', () => join(work, 'no-such-run'), /no-such-run: no such run directory/],
    ['a file, not a folder', () => (writeFileSync(join(dir('file-not-dir'), 'x.txt'), ''), join(work, 'file-not-dir', 'x.txt')), /x\.txt: not a directory/],
    ['an empty folder', () => dir('empty-dir'), /empty-dir: no journal\.jsonl, so not a run directory/],
    ['an empty journal', () => dir('empty-journal', ''), /journal\.jsonl: empty/],
    [
      'a journal that is a directory',
      () => (mkdirSync(join(dir('journal-dir'), 'journal.jsonl')), join(work, 'journal-dir')),
      /journal\.jsonl: is a directory, not a journal/,
    ],
    ['a garbage line', () => dir('garbage', 'garbage\n{"type":"run.started"}\n'), /garbage\/journal\.jsonl:1(:\d+)?: not a journal event/],
    ['a null line', () => dir('null-line', 'null\n'), /null-line\/journal\.jsonl:1(:\d+)?: not a journal event: null/],
    ['a null line after a good one', () => dir('null-second', `${firstLine()}\n\nnull\n`), /null-second\/journal\.jsonl:3(:\d+)?: not a journal event: null/],
    ['an array line', () => dir('array-line', '[1,2]\n'), /array-line\/journal\.jsonl:1(:\d+)?: not a journal event/],
    ['no run.started', () => dir('no-start', '{"at":"x","t":0,"type":"phase.started","phase":"method"}\n'), /no run\.started event/],
    [
      'a run.started without what reports start from',
      () => dir('bare-start', '{"type":"run.started"}\n'),
      /bare-start\/journal\.jsonl:1(:\d+)?: run\.started without runId, experiment, environment, seed/,
    ],
  ]
  for (const [what, make, says] of cases) {
    it(`${what}: one line and a next step, exit 2, from report and from recover`, async () => {
      const d = make()
      expectRefusal(await gameday('report', d), says)
      expectRefusal(await gameday('recover', d), says)
    })
  }

  it('the shipped reports/sample cannot be recovered without its environment file, and the message says --env', async () => {
    const r = await gameday('recover', join(REPO_ROOT, 'reports/sample'))
    expectRefusal(r, /the run used the environment file \/tmp\/fresh\/environments\/local\.yaml, which is not here/)
    expect(r.err).toMatch(/^hint: .*--env local/m)
  })

  it('a run.started that names no environment file: the message says --env', async () => {
    const started = JSON.parse(firstLine()) as Record<string, unknown>
    delete started.environmentFile
    expectRefusal(await gameday('recover', dir('no-env-file', JSON.stringify(started) + '\n')), /does not say which environment file/)
  })

  it('with --env, the sample is recovered: nothing was left (exit 0), and its reports are made again', async () => {
    const sample = join(work, 'sample')
    cpSync(join(REPO_ROOT, 'reports/sample'), sample, { recursive: true })
    const env = join(work, 'one-node.yaml')
    writeFileSync(env, 'kind: local\nclusters:\n  core:\n    nodes: [{ name: n1, az: az-a }]\n')
    const r = await gameday('recover', sample, '--env', env)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/nothing to recover/)
    const report = await gameday('report', sample)
    expect(report.code, report.err).toBe(0)
    expect(readFileSync(join(sample, 'result.json'), 'utf8')).toMatch(/"status": "passed"/)
  })

  it('GAMEDAY_DEBUG shows the stack trace the plain output leaves out (so the check above can fail)', async () => {
    process.env.GAMEDAY_DEBUG = '1'
    const r = await gameday('report', dir('garbage-debug', 'garbage\n{}\n'))
    expect(r.code).toBe(2)
    expect(r.err).toMatch(STACK_LINE)
  })
})

describe('experiments and environments', () => {
  it('validate: every problem as file:line:col, exit 1; plan and run: the same, a hint, exit 2', async () => {
    const file = join(work, 'bad.yaml')
    writeFileSync(file, 'name: bad\nmethod:\n  - wait: soon\n')
    const v = await gameday('validate', file)
    expect(v.code).toBe(1)
    expect(v.err).toMatch(/bad\.yaml:3:5: /)
    for (const cmd of ['plan', 'run']) expectRefusal(await gameday(cmd, file), /bad\.yaml:3:5: /)
  })

  it('an environment that is not there, or not valid: positioned where it can be, and what --env takes', async () => {
    const experiment = join(REPO_ROOT, 'experiments/nats-node-kill.yaml')
    expectRefusal(await gameday('plan', experiment, '--env', join(work, 'nowhere.yaml')), /environment file not found/)
    const env = join(work, 'moon.yaml')
    writeFileSync(env, 'kind: moon\n')
    const r = await gameday('plan', experiment, '--env', env)
    expectRefusal(r, /moon\.yaml:1:1: kind must be one of/)
    expect(r.err).toMatch(/--env takes local, containers, aws/)
  })
})

function firstLine(): string {
  return readFileSync(join(REPO_ROOT, 'reports/sample/journal.jsonl'), 'utf8').split('\n')[0]
}
