import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { checkDurability, checkLinearizability, runCheckCommand, worstExit } from './cli.ts'

const fixtures = fileURLToPath(new URL('../../test/fixtures/linearizability/', import.meta.url))
const etcd = (n: number) => `${fixtures}jepsen-etcd/etcd_${String(n).padStart(3, '0')}.log`
const dir = mkdtempSync(join(tmpdir(), 'gameday-checkers-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

function capture() {
  const lines: string[] = []
  return { lines, out: (line: string) => lines.push(line) }
}

describe('check linearizability', () => {
  it('prints details then the verdict alone on the last line: exit 1 for not linearizable', async () => {
    const { lines, out } = capture()
    expect(await checkLinearizability([etcd(0)], { model: 'cas-register', out })).toBe(1)
    expect(lines.at(-1)).toBe('not linearizable')
    expect(lines[0]).toMatch(/etcd_000\.log: 85 operations, 1 partition, model cas-register \(per key\)/)
    expect(lines).toContain('  ✗ p11 read → 2  [t=85..86]  (line 85)  state was 4')
  })

  it('exit 0 for linearizable, also per key with the kv model', async () => {
    const { lines, out } = capture()
    expect(await checkLinearizability([etcd(2)], { model: 'cas-register', out })).toBe(0)
    expect(lines.at(-1)).toBe('linearizable')
    const kv = capture()
    expect(await checkLinearizability([`${fixtures}kv/c10-ok.txt`], { model: 'kv', out: kv.out })).toBe(0)
    expect(kv.lines[0]).toContain('10 partitions')
  })

  it('exit 3 and unknown when the budget is spent', async () => {
    const ops = [...Array.from({ length: 22 }, (_, i) => ({ process: i, type: 'invoke', f: 'write', value: i, time: i }))]
    const text = [...ops, { process: 99, type: 'invoke', f: 'read', value: null, time: 30 }, { process: 99, type: 'ok', f: 'read', value: 999, time: 31 }]
      .map((e) => JSON.stringify(e))
      .join('\n')
    const { lines, out } = capture()
    expect(await checkLinearizability([file('hard.jsonl', text)], { model: 'cas-register', budgetMs: 20, out })).toBe(3)
    expect(lines.at(-1)).toBe('unknown')
    expect(lines.at(-2)).toBe('undecided: 1 of 1 partition(s) (budget of 20 ms spent); this is not a pass')
  })

  it('several files: one line each, the worst exit code', async () => {
    const { lines, out } = capture()
    expect(await checkLinearizability([etcd(2), etcd(0)], { model: 'cas-register', out })).toBe(1)
    expect(lines).toEqual([`${etcd(2)}: linearizable`, `${etcd(0)}: not linearizable`])
  })

  it('exit 2 with file:line for unreadable input, which outranks every verdict', async () => {
    const bad = file('bad.jsonl', '{"process":1,"type":"invoke","f":"read"}\n{"process":1,"type":"ok","f":"write"}\n')
    const { lines, out } = capture()
    expect(await checkLinearizability([etcd(0), bad, join(dir, 'missing.jsonl')], { model: 'cas-register', out })).toBe(2)
    expect(lines).toEqual([
      `${etcd(0)}: not linearizable`,
      `${bad}:2: process 1 completes write but invoked read (line 1)`,
      `${join(dir, 'missing.jsonl')}: no such file`,
    ])
    const wrongModel = capture()
    expect(await checkLinearizability([etcd(0)], { model: 'kv', out: wrongModel.out })).toBe(2)
    expect(wrongModel.lines).toEqual([`${etcd(0)}:1: operation "read" is not one of model kv (get, put, append)`])
  })

  it('ranks exit codes: bad input > unknown > violation > ok', () => {
    expect(worstExit(0, 1)).toBe(1)
    expect(worstExit(1, 3)).toBe(3)
    expect(worstExit(3, 2)).toBe(2)
    expect(worstExit(2, 1)).toBe(2)
  })
})

describe('check durability', () => {
  const ok = () => file('ok.dur', 'p 1 0 a 1 10\np 1 1 i - 11\nr 0 1\n')
  const lossy = () => file('lossy.dur', 'p 1 0 a 1 10\np 1 1 a 2 11\np 1 2 a 3 12\nr 1 2\nr 5 9\n')

  it('prints the counts then ok: exit 0', async () => {
    const { lines, out } = capture()
    expect(await checkDurability([ok()], { out })).toBe(0)
    expect(lines.at(-1)).toBe('ok')
    expect(lines.join('\n')).toContain('attempted 2  acknowledged 1  failed 0  indeterminate 1')
  })

  it('lost and unexpected values: exit 1, with the first lost listed', async () => {
    const { lines, out } = capture()
    expect(await checkDurability([lossy()], { out })).toBe(1)
    expect(lines.at(-1)).toBe('lost 2, unexpected 1')
    expect(lines).toContain('  writer 1 value 0  at 10.000ms  seq 1')
    expect(lines).toContain('lost 2 (prefix 1, middle 0, postfix 1)  unexpected 1  failed but read 0')
  })

  it('several files and bad input', async () => {
    const bad = file('bad.dur', 'p 1 0 a 1 10\np 1 x\n')
    const { lines, out } = capture()
    expect(await checkDurability([ok(), lossy(), bad], { out })).toBe(2)
    expect(lines).toEqual([`${join(dir, 'ok.dur')}: ok`, `${join(dir, 'lossy.dur')}: lost 2, unexpected 1`, `${bad}:2: expected value (an integer)`])
  })
})

describe('standalone runner', () => {
  it('parses its arguments', async () => {
    const { lines, out } = capture()
    expect(await runCheckCommand(['check', 'linearizability', '--model', 'cas-register', '--budget', '10s', etcd(5)], out)).toBe(0)
    expect(lines.at(-1)).toBe('linearizable')
    expect(await runCheckCommand(['linearizability', '--model=kv', `${fixtures}kv/c01-bad.txt`], out)).toBe(1)
    expect(await runCheckCommand(['check', 'linearizability', etcd(5)], out)).toBe(2) // --model missing
    expect(await runCheckCommand(['check', 'linearizability', '--model', 'cas-register', '--budget', 'soon', etcd(5)], out)).toBe(2)
    expect(await runCheckCommand(['check', 'durability', '--bogus'], out)).toBe(2)
    expect(await runCheckCommand(['check', 'nothing'], out)).toBe(2)
    expect(lines.at(-1)).toMatch(/^ +check durability/)
  })

  it('runs as a process: verdict on stdout, exit code, stats on stderr', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url))
    const lossy = file('proc.dur', 'p 1 0 a 1 10\nr 5\n')
    const run = promisify(execFile)
    const err = await run(process.execPath, ['--import', 'tsx', main, 'check', 'durability', lossy, '--stats']).catch((e) => e)
    expect(err.code).toBe(1)
    expect(err.stdout.trim().split('\n').at(-1)).toBe('lost 1, unexpected 1')
    expect(err.stderr).toMatch(/^# stats maxRSS=\d+ cpu=\d+ uptime=\d+$/m)
  })
})
