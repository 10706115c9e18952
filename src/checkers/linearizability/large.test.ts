/**
 * Large single-key histories: past EXACT_CACHE_MAX_OPS the search cache keeps fingerprints of
 * the linearized set; the verdicts must not change — a linearizable history passes, and the same
 * history with one read falsified fails, with the falsified read as the operation that cannot be placed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateCasHistory } from '../../../bench/history.ts'
import { parseHistory } from '../history-formats/index.ts'
import { checkOperations, EXACT_CACHE_MAX_OPS } from './checker.ts'
import { casRegisterPerKey } from './models/cas-register.ts'

const dir = mkdtempSync(join(tmpdir(), 'gameday-large-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('a 20,000-operation single-key history', () => {
  const file = join(dir, 'h.jsonl')
  generateCasHistory(file, 20_000, { seed: 3 })
  const text = readFileSync(file, 'utf8')

  it('is linearizable, checked with fingerprints past the exact bound', async () => {
    const ops = parseHistory(text, file)
    expect(ops.length).toBeGreaterThan(EXACT_CACHE_MAX_OPS)
    const r = await checkOperations(casRegisterPerKey, ops)
    expect(r.verdict).toBe('linearizable')
  })

  it('is not linearizable once one read in the middle is falsified', async () => {
    // without indeterminate writes: with them, refuting takes a search over where each may have taken effect
    const plain = join(dir, 'plain.jsonl')
    generateCasHistory(plain, 20_000, { seed: 3, infoRate: 0 })
    const lines = readFileSync(plain, 'utf8').split('\n')
    expect((await checkOperations(casRegisterPerKey, parseHistory(lines.join('\n'), file))).verdict).toBe('linearizable')
    const at = lines.findIndex((l, i) => i > lines.length / 2 && l.includes('"type":"ok","f":"read"'))
    const read = JSON.parse(lines[at])
    lines[at] = JSON.stringify({ ...read, value: read.value === 42 ? 43 : 42 })
    const r = await checkOperations(casRegisterPerKey, parseHistory(lines.join('\n'), file))
    expect(r.verdict).toBe('not-linearizable')
    expect(r.counterexample!.blocked.op.return).toBe(read.time) // the falsified read is the one that cannot be placed
  })
})
