import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createRng } from '../util/rng.ts'
import {
  checkDurabilityEvents,
  DurabilityHistory,
  DurabilityHistoryWriter,
  DurabilityParseError,
  durabilityVerdict,
  formatDurability,
  parseDurabilityHistory,
  readDurabilityFile,
  type DurabilityResult,
  type PublishOutcome,
} from './durability.ts'

const dir = mkdtempSync(join(tmpdir(), 'gameday-durability-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** writer w publishes values [from, to) acked, seq = value + 1, at = value */
function acked(w: number, from: number, to: number) {
  const out = []
  for (let v = from; v < to; v++) out.push({ writer: w, value: v, outcome: 'ack' as const, seq: v + 1, at: v })
  return out
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('durability checker', () => {
  it('is valid when every acknowledged value is read', () => {
    const r = checkDurabilityEvents(acked(1, 0, 10), range(0, 10))
    expect(r).toMatchObject({ valid: true, attempted: 10, acknowledged: 10, read: 10, reads: 10, lost: 0, unexpected: 0 })
    expect(durabilityVerdict(r)).toBe('ok')
  })

  it('splits lost values into prefix, middle and postfix per writer', () => {
    // writer 1: 0..9, reads 3..8 minus 5 → lost 0,1,2 (prefix), 5 (middle), 9 (postfix)
    // writer 2: 10..14, nothing read → all 5 in its prefix
    const reads = [3, 4, 6, 7, 8]
    const r = checkDurabilityEvents([...acked(1, 0, 10), ...acked(2, 10, 15)], reads)
    expect(r).toMatchObject({ valid: false, lost: 10, lostPrefix: 8, lostMiddle: 1, lostPostfix: 1 })
    expect(r.writers).toEqual([
      { writer: 1, attempted: 10, acknowledged: 10, read: 5, lost: 5, lostPrefix: 3, lostMiddle: 1, lostPostfix: 1 },
      { writer: 2, attempted: 5, acknowledged: 5, read: 0, lost: 5, lostPrefix: 5, lostMiddle: 0, lostPostfix: 0 },
    ])
    expect(durabilityVerdict(r)).toBe('lost 10')
  })

  it('lists the first lost values by publish time, with writer and seq', () => {
    const pubs = [
      { writer: 2, value: 100, outcome: 'ack' as const, seq: 7, at: 50.5 },
      { writer: 1, value: 1, outcome: 'ack' as const, seq: 3, at: 12.25 },
      { writer: 1, value: 2, outcome: 'ack' as const, seq: 4, at: 13 },
      { writer: 3, value: 3, outcome: 'ack' as const, seq: 5, at: 12.25 },
    ]
    const r = checkDurabilityEvents(pubs, [], { firstN: 3 })
    expect(r.firstLost).toEqual([
      { writer: 1, value: 1, at: 12.25, seq: 3 },
      { writer: 3, value: 3, at: 12.25, seq: 5 },
      { writer: 1, value: 2, at: 13, seq: 4 },
    ])
    const lines = formatDurability(r)
    expect(lines).toContain('  writer 1 value 1  at 12.250ms  seq 3')
  })

  it('counts unexpected and duplicated reads', () => {
    const r = checkDurabilityEvents(acked(1, 0, 3), [0, 1, 1, 1, 2, 77, 77, { value: 78, seq: 9 }])
    expect(r).toMatchObject({ valid: false, read: 5, reads: 8, lost: 0, unexpected: 2, duplicated: 2 })
    expect(r.firstUnexpected).toEqual([
      { value: 77, seq: NaN },
      { value: 78, seq: 9 },
    ])
    expect(durabilityVerdict(r)).toBe('unexpected 2')
  })

  it('treats timeouts as indeterminate: recovered when read, unknown when not, never lost', () => {
    const pubs = [
      { writer: 1, value: 0, outcome: 'ack' as const, seq: 1 },
      { writer: 1, value: 1, outcome: 'info' as const },
      { writer: 1, value: 2, outcome: 'info' as const },
      { writer: 1, value: 3, outcome: 'ack' as const, seq: 3 },
    ]
    const r = checkDurabilityEvents(pubs, [0, 1, 3])
    expect(r).toMatchObject({ valid: true, acknowledged: 2, indeterminate: 2, recovered: 1, unknown: 1, lost: 0 })
  })

  it('counts failed publishes, and those read anyway', () => {
    const pubs = [
      { writer: 1, value: 0, outcome: 'fail' as const },
      { writer: 1, value: 1, outcome: 'fail' as const },
      { writer: 1, value: 2, outcome: 'ack' as const, seq: 1 },
    ]
    const r = checkDurabilityEvents(pubs, [1, 2])
    expect(r).toMatchObject({ valid: true, failed: 2, failedButRead: 1, acknowledged: 1, unexpected: 0 })
    expect(formatDurability(r).join('\n')).toContain('failed but read 1')
  })

  it('merges retries of one value: ack wins, then info, then fail', () => {
    const pubs = [
      { writer: 1, value: 5, outcome: 'info' as const, at: 1 },
      { writer: 1, value: 5, outcome: 'ack' as const, seq: 9, at: 2 },
      { writer: 1, value: 6, outcome: 'fail' as const, at: 3 },
      { writer: 1, value: 6, outcome: 'info' as const, at: 4 },
      { writer: 1, value: 7, outcome: 'fail' as const, at: 5 },
      { writer: 1, value: 7, outcome: 'fail' as const, at: 6 },
    ]
    const r = checkDurabilityEvents(pubs, [])
    expect(r).toMatchObject({ attempted: 3, retries: 3, acknowledged: 1, indeterminate: 1, failed: 1, lost: 1, unknown: 1 })
    expect(r.firstLost).toEqual([{ writer: 1, value: 5, at: 1, seq: 9 }])
  })

  it('orders a writer by publish time when its lines are out of order', () => {
    // completions logged out of order: by time the writer published 0,1,2,3,4; 0 and 4 were read
    const pubs = [3, 0, 4, 1, 2].map((v) => ({ writer: 1, value: v, outcome: 'ack' as const, seq: v, at: v * 10 }))
    const r = checkDurabilityEvents(pubs, [0, 4])
    expect(r).toMatchObject({ lost: 3, lostPrefix: 0, lostMiddle: 3, lostPostfix: 0 })
    expect(r.firstLost.map((l) => l.value)).toEqual([1, 2, 3])
  })

  it('agrees with a Set-based reference on random histories, dense or sparse values', () => {
    const rng = createRng(4242)
    for (let round = 0; round < 30; round++) {
      const writers = 1 + rng.int(4)
      const perWriter = 1 + rng.int(300)
      const sparse = round % 2 === 1
      const pubs: { writer: number; value: number; outcome: PublishOutcome; seq: number; at: number }[] = []
      const reads: number[] = []
      let t = 0
      for (let c = 0; c < perWriter; c++) {
        for (let w = 0; w < writers; w++) {
          const value = sparse ? w * 2 ** 32 + c * 7919 : c * writers + w
          const x = rng.next()
          const outcome: PublishOutcome = x < 0.8 ? 'ack' : x < 0.9 ? 'info' : 'fail'
          pubs.push({ writer: w, value, outcome, seq: pubs.length + 1, at: (t += rng.next()) })
          const y = rng.next()
          if ((outcome === 'ack' && y < 0.9) || (outcome === 'info' && y < 0.5) || (outcome === 'fail' && y < 0.05)) reads.push(value)
          if (y < 0.02) reads.push(value) // duplicate
        }
      }
      for (let k = rng.int(3); k > 0; k--) reads.push(sparse ? 99 * 2 ** 32 + k : 10_000_000 + k) // unexpected
      expect(checkDurabilityEvents(pubs, reads)).toEqual(reference(pubs, reads))
    }
  })
})

/** The queue checker as set arithmetic, for comparison (no retries, file order = time order). */
function reference(pubs: { writer: number; value: number; outcome: PublishOutcome; seq: number; at: number }[], reads: number[]): DurabilityResult {
  const readCount = new Map<number, number>()
  for (const v of reads) readCount.set(v, (readCount.get(v) ?? 0) + 1)
  const published = new Set(pubs.map((p) => p.value))
  const isRead = (v: number) => (readCount.get(v) ?? 0) > 0
  const acks = pubs.filter((p) => p.outcome === 'ack')
  const infos = pubs.filter((p) => p.outcome === 'info')
  const lostPubs = acks.filter((p) => !isRead(p.value))
  const writerIds = [...new Set(pubs.map((p) => p.writer))]
  const writers = writerIds.map((writer) => {
    const mine = pubs.filter((p) => p.writer === writer)
    const readIdx = mine.map((p, i) => (isRead(p.value) ? i : -1)).filter((i) => i >= 0)
    const first = readIdx.length ? readIdx[0] : Infinity
    const last = readIdx.length ? readIdx[readIdx.length - 1] : -1
    const lostIdx = mine.map((p, i) => (p.outcome === 'ack' && !isRead(p.value) ? i : -1)).filter((i) => i >= 0)
    return {
      writer,
      attempted: mine.length,
      acknowledged: mine.filter((p) => p.outcome === 'ack').length,
      read: readIdx.length,
      lost: lostIdx.length,
      lostPrefix: lostIdx.filter((i) => i < first).length,
      lostMiddle: lostIdx.filter((i) => i > first && i < last).length,
      lostPostfix: lostIdx.filter((i) => i > last && first !== Infinity).length,
    }
  })
  const sum = (k: 'lostPrefix' | 'lostMiddle' | 'lostPostfix') => writers.reduce((s, w) => s + w[k], 0)
  const unexpectedValues = [...readCount.keys()].filter((v) => !published.has(v))
  return {
    valid: lostPubs.length === 0 && unexpectedValues.length === 0,
    noEvidence: acks.length === 0,
    attempted: pubs.length,
    acknowledged: acks.length,
    failed: pubs.filter((p) => p.outcome === 'fail').length,
    indeterminate: infos.length,
    read: readCount.size,
    reads: reads.length,
    lost: lostPubs.length,
    unexpected: unexpectedValues.length,
    duplicated: [...readCount.values()].filter((c) => c > 1).length,
    recovered: infos.filter((p) => isRead(p.value)).length,
    unknown: infos.filter((p) => !isRead(p.value)).length,
    failedButRead: pubs.filter((p) => p.outcome === 'fail' && isRead(p.value)).length,
    lostPrefix: sum('lostPrefix'),
    lostMiddle: sum('lostMiddle'),
    lostPostfix: sum('lostPostfix'),
    retries: 0,
    writers,
    firstLost: lostPubs
      .slice()
      .sort((a, b) => a.at - b.at)
      .slice(0, 20)
      .map((p) => ({ writer: p.writer, value: p.value, at: p.at, seq: p.seq })),
    firstUnexpected: reads
      .filter((v, i) => !published.has(v) && reads.indexOf(v) === i)
      .slice(0, 20)
      .map((value) => ({ value, seq: NaN })),
  }
}

describe('durability history file', () => {
  it('round-trips through the writer and the chunked reader', () => {
    const path = join(dir, 'roundtrip.dur')
    const w = new DurabilityHistoryWriter(path)
    w.comment('publish probe, stream ORDERS\nseed 42')
    const expected = new DurabilityHistory()
    // ~2.5 MB: several 1 MiB chunks, lines cut at chunk boundaries
    for (let v = 0; v < 60_000; v++) {
      const outcome: PublishOutcome = v % 97 === 0 ? 'info' : v % 89 === 0 ? 'fail' : 'ack'
      const seq = outcome === 'ack' ? v + 1 : undefined
      const at = 1000 + v * 0.125
      w.publish(v % 5, v, outcome, seq, at)
      expected.publish(v % 5, v, outcome, seq, at)
    }
    for (let v = 0; v < 60_000; v++) {
      if (v % 1000 === 7) continue
      w.read(v, v + 1)
      expected.read(v, v + 1)
    }
    w.read(123_456_789)
    expected.read(123_456_789)
    w.close()
    const got = readDurabilityFile(path)
    expect(got.publishes).toBe(60_000)
    expect(got.reads).toBe(expected.reads)
    const r = got.check()
    expect(r).toEqual(expected.check())
    expect(r.unexpected).toBe(1)
    expect(r.lost).toBeGreaterThan(0)
    expect(r.firstLost[0]).toEqual({ writer: 2, value: 7, at: 1000.875, seq: 8 })
  })

  it('accepts comments, blank lines, CRLF, tabs, missing optional fields and a last line without newline', () => {
    const text = '# gameday durability history v1\r\n\r\np 1 10 a 5 12.5\r\np\t2\t11\ti\t-\t-\np 3 12 f\n  r 10 5\nr 11\nr 10 -'
    const r = parseDurabilityHistory(text, 'x.dur').check()
    expect(r).toMatchObject({ attempted: 3, acknowledged: 1, indeterminate: 1, failed: 1, reads: 3, duplicated: 1, recovered: 1, lost: 0 })
  })

  it('reports the file and line of a bad line', () => {
    const bad = (text: string) => () => parseDurabilityHistory(text, 'h.dur')
    expect(bad('p 1 2 a 3 4\nx 1')).toThrow('h.dur:2: expected a "p" or "r" line, got "x"')
    expect(bad('p 1 2 z 3 4')).toThrow('h.dur:1: expected an outcome: a, f or i')
    expect(bad('p 1 2a a')).toThrow('h.dur:1: expected value (an integer)')
    expect(bad('p 1 -2 a')).toThrow('h.dur:1: expected value (an integer)')
    expect(bad('p 1 2')).toThrow('h.dur:1: expected outcome')
    expect(bad('r 1 2 3')).toThrow('h.dur:1: unexpected text at the end of the line')
    expect(bad('# c\n\nr')).toThrow('h.dur:3: expected value')
    expect(bad('r1')).toThrow('h.dur:1: expected a space')
    expect(bad('p 1 2 a 3 x')).toThrow('h.dur:1: expected at (a number or -)')
    expect(bad('r 99999999999999999')).toThrow('h.dur:1: value too large')
    try {
      bad('\n\nr x')()
    } catch (err) {
      expect(err).toBeInstanceOf(DurabilityParseError)
      expect((err as DurabilityParseError).line).toBe(3)
    }
  })

  it('reads a file whose last line has no newline, and an empty file', () => {
    const path = join(dir, 'short.dur')
    writeFileSync(path, 'p 0 1 a 1 0\nr 1 1')
    expect(readDurabilityFile(path).check()).toMatchObject({ valid: true, attempted: 1, read: 1 })
    writeFileSync(path, '')
    expect(readDurabilityFile(path).check()).toMatchObject({ valid: true, attempted: 0, read: 0 })
  })
})
