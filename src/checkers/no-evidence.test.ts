/** Checkers given inputs that prove nothing, or that a model cannot compare: never a pass, never a false violation. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkDurability, checkLinearizability, EXIT_BAD_INPUT, EXIT_UNKNOWN, runCheckCommand } from './cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'gameday-no-evidence-'))
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

const op = (process: number, type: string, f: string, value: unknown, time: number) => JSON.stringify({ process, type, f, value, time })

describe('no evidence is not a pass', () => {
  it.each([
    ['an empty history', ''],
    ['a comment-only history', '# recorded by nobody\n# nothing here\n'],
    ['a history of failed reads only', `${op(1, 'invoke', 'read', null, 1)}\n${op(1, 'fail', 'read', null, 2)}\n`],
  ])('linearizability: %s is unknown, exit 3', async (_what, text) => {
    const { lines, out } = capture()
    expect(await checkLinearizability([file('h.jsonl', text)], { model: 'cas-register', out })).toBe(EXIT_UNKNOWN)
    expect(lines.at(-1)).toBe('unknown')
    expect(lines.join('\n')).toMatch(/no evidence, and that is not a pass/)
  })

  it.each([
    ['an empty history', ''],
    ['a comment-only history', '# nothing\n'],
  ])('durability: %s is unknown, exit 3', async (_what, text) => {
    const { lines, out } = capture()
    expect(await checkDurability([file('d.dur', text)], { out })).toBe(EXIT_UNKNOWN)
    expect(lines.at(-1)).toBe('unknown')
    expect(lines.join('\n')).toMatch(/no publish was acknowledged/)
  })
})

describe('values a register cannot hold', () => {
  it('object values under cas-register are refused with the line, not a false "not linearizable … [object Object]"', async () => {
    const h = file(
      'objects.jsonl',
      [op(1, 'invoke', 'write', { hp: 3 }, 1), op(1, 'ok', 'write', { hp: 3 }, 2), op(2, 'invoke', 'read', null, 3), op(2, 'ok', 'read', { hp: 3 }, 4)].join(
        '\n',
      ),
    )
    const { lines, out } = capture()
    expect(await checkLinearizability([h], { model: 'cas-register', out })).toBe(EXIT_BAD_INPUT)
    expect(lines).toEqual([`${h}:1: cas-register values are numbers, strings or null: the write value is {"hp":3} (compare a field of it, or its JSON text)`])
    const cas = file('cas.jsonl', [op(1, 'invoke', 'cas', [1, [2]], 1), op(1, 'ok', 'cas', [1, [2]], 2)].join('\n'))
    const c = capture()
    expect(await checkLinearizability([cas], { model: 'cas-register', out: c.out })).toBe(EXIT_BAD_INPUT)
    expect(c.lines[0]).toMatch(/:1: cas-register values are numbers, strings or null: the cas "to" is \[2\]/)
    const read = file('read.jsonl', [op(1, 'invoke', 'read', null, 1), op(1, 'ok', 'read', { a: 1 }, 2)].join('\n'))
    const r = capture()
    expect(await checkLinearizability([read], { model: 'cas-register', out: r.out })).toBe(EXIT_BAD_INPUT)
    expect(r.lines[0]).toMatch(/the value read is \{"a":1\}/)
  })
})

describe('--first', () => {
  it.each([[NaN], [-1], [1.5]])('checkDurability refuses firstN %s as bad input', async (firstN) => {
    const { lines, out } = capture()
    expect(await checkDurability([file('ok.dur', '')], { firstN, out })).toBe(EXIT_BAD_INPUT)
    expect(lines).toEqual([`--first needs a whole number ≥ 0 (how many lost values to list), got ${firstN}`])
  })

  it.each([['abc'], ['-1'], ['1.5']])('the standalone runner refuses --first %s', async (v) => {
    const { lines, out } = capture()
    expect(await runCheckCommand(['check', 'durability', '--first', v, file('x.dur', '')], out)).toBe(EXIT_BAD_INPUT)
    expect(lines[0]).toBe(`--first needs a whole number ≥ 0, got "${v}"`)
  })
})
