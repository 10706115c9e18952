import { describe, expect, it } from 'vitest'
import { createRng, type Rng } from '../../util/rng.ts'
import { checkOperations, formatCounterexample, WglSearch } from './checker.ts'
import { ILLEGAL, type Model, type OpStatus } from './model.ts'
import { casRegister, casRegisterPerKey } from './models/cas-register.ts'
import { kv } from './models/kv.ts'
import type { KeyedOp, Value } from './models/values.ts'

/** An op of process p over [call, ret] (ret = Infinity for info). */
function op(p: number, call: number, ret: number, f: string, value: unknown, output?: unknown, status: OpStatus = 'ok', key?: string): KeyedOp {
  const input = key === undefined ? { f, value } : { f, key, value }
  return { process: p, call, return: status === 'info' ? Infinity : ret, status, input, output }
}
const read = (p: number, call: number, ret: number, out: Value, key?: string) => op(p, call, ret, 'read', null, out, 'ok', key)
const write = (p: number, call: number, ret: number, v: Value, status: OpStatus = 'ok', key?: string) => op(p, call, ret, 'write', v, undefined, status, key)
const cas = (p: number, call: number, ret: number, from: Value, to: Value, status: OpStatus = 'ok', key?: string) =>
  op(p, call, ret, 'cas', [from, to], undefined, status, key)

async function verdict(ops: KeyedOp[], model: Model<any, any, any> = casRegister) {
  return (await checkOperations(model, ops)).verdict
}

describe('linearizability checker — cas register', () => {
  it('a sequential history is linearizable; an empty one is unknown (no evidence is not a pass)', async () => {
    expect(await verdict([])).toBe('unknown')
    expect((await checkOperations(casRegister, [])).reason).toBe('no-operations')
    expect((await checkOperations(casRegister, [{ ...read(0, 0, 1, null), status: 'fail' }])).verdict).toBe('unknown')
    expect(await verdict([read(0, 0, 1, null), write(0, 2, 3, 1), read(1, 4, 5, 1), cas(1, 6, 7, 1, 2), read(0, 8, 9, 2)])).toBe('linearizable')
  })

  it('finds a stale read', async () => {
    const r = await checkOperations(casRegister, [write(1, 0, 1, 1), read(2, 2, 3, null)])
    expect(r.verdict).toBe('not-linearizable')
    expect(r.counterexample!.blocked.text).toBe('read → nil')
    expect(r.counterexample!.blocked.stateBefore).toBe('1')
  })

  it('finds a lost write', async () => {
    expect(await verdict([write(1, 0, 1, 1), write(2, 2, 3, 2), read(3, 4, 5, 1)])).toBe('not-linearizable')
  })

  it('orders concurrent operations either way', async () => {
    // the write overlaps the read: the read may see the value before or after it
    expect(await verdict([write(1, 0, 10, 1), read(2, 1, 2, null)])).toBe('linearizable')
    expect(await verdict([write(1, 0, 10, 1), read(2, 1, 2, 1)])).toBe('linearizable')
    // two concurrent writes, then reads agreeing on either winner
    expect(await verdict([write(1, 0, 5, 1), write(2, 0, 5, 2), read(3, 6, 7, 1)])).toBe('linearizable')
    expect(await verdict([write(1, 0, 5, 1), write(2, 0, 5, 2), read(3, 6, 7, 2)])).toBe('linearizable')
    // but once 1 was read after 2 could have been, 2 cannot come back
    expect(await verdict([write(1, 0, 5, 1), write(2, 0, 5, 2), read(3, 6, 7, 1), read(3, 8, 9, 2)])).toBe('not-linearizable')
    // seen new, then old, while the write is still running: not linearizable
    expect(await verdict([write(1, 0, 10, 1), read(2, 1, 2, 1), read(2, 3, 4, null)])).toBe('not-linearizable')
  })

  it('treats ops at equal times as concurrent', async () => {
    expect(await verdict([write(1, 0, 5, 1), read(2, 5, 6, null)])).toBe('linearizable')
    expect(await verdict([write(1, 0, 4, 1), read(2, 5, 6, null)])).toBe('not-linearizable')
  })

  it('lets an indeterminate write take effect any time after its call, or never', async () => {
    const w = write(1, 0, 0, 7, 'info')
    expect(await verdict([w, read(2, 5, 6, 7)])).toBe('linearizable') // took effect
    expect(await verdict([w, read(2, 5, 6, null)])).toBe('linearizable') // never (or not yet)
    expect(await verdict([w, read(2, 5, 6, null), read(2, 100, 101, 7)])).toBe('linearizable') // late
    expect(await verdict([w, read(2, 5, 6, 7), read(2, 7, 8, null)])).toBe('not-linearizable') // not undone
    // not before its call
    expect(await verdict([read(2, 0, 1, 7), write(1, 2, 0, 7, 'info')])).toBe('not-linearizable')
  })

  it('lets an indeterminate cas take effect only where its compare holds', async () => {
    const base = [write(0, 0, 1, 3)]
    expect(await verdict([...base, cas(1, 2, 0, 3, 4, 'info'), read(2, 5, 6, 4)])).toBe('linearizable')
    expect(await verdict([...base, cas(1, 2, 0, 3, 4, 'info'), read(2, 5, 6, 3)])).toBe('linearizable')
    expect(await verdict([...base, cas(1, 2, 0, 9, 4, 'info'), read(2, 5, 6, 4)])).toBe('not-linearizable')
    // it may wait for a later write to make its compare true
    expect(await verdict([...base, cas(1, 2, 0, 9, 4, 'info'), write(0, 3, 4, 9), read(2, 5, 6, 4)])).toBe('linearizable')
  })

  it('reads a failed cas as a compare that failed: completed, no effect', async () => {
    expect(await verdict([write(0, 0, 1, 0), cas(1, 2, 3, 0, 1, 'fail')])).toBe('not-linearizable')
    expect(await verdict([write(0, 0, 1, 0), cas(1, 2, 3, 2, 1, 'fail'), read(1, 4, 5, 0)])).toBe('linearizable')
    expect(await verdict([write(0, 0, 1, 0), cas(1, 2, 3, 2, 1, 'fail'), read(1, 4, 5, 1)])).toBe('not-linearizable')
    // a failed write did not happen
    expect(await verdict([write(0, 0, 1, 0), write(1, 2, 3, 5, 'fail'), read(1, 4, 5, 0)])).toBe('linearizable')
  })

  it('drops reads whose outcome is unknown', async () => {
    const unknownRead = op(2, 2, 0, 'read', null, undefined, 'info')
    const r = await checkOperations(casRegister, [write(0, 0, 1, 1), unknownRead, read(1, 4, 5, 1)])
    expect(r.verdict).toBe('linearizable')
    expect(r.operations).toBe(2)
  })

  it('checks keys independently with casRegisterPerKey', async () => {
    const ops = [write(0, 0, 1, 1, 'ok', 'a'), write(1, 0, 1, 2, 'ok', 'b'), read(0, 2, 3, 1, 'a'), read(1, 2, 3, 2, 'b')]
    expect(await verdict(ops, casRegisterPerKey)).toBe('linearizable')
    expect(await verdict(ops, casRegister)).toBe('not-linearizable') // one register: a read of 1 and of 2 after both writes
    const bad = [...ops, read(2, 4, 5, null, 'b')]
    const r = await checkOperations(casRegisterPerKey, bad)
    expect(r.verdict).toBe('not-linearizable')
    expect(r.partitions).toBe(2)
    expect(r.counterexample!.partition).toBe('key "b"')
    expect(r.counterexample!.blocked.text).toBe('read("b") → nil')
  })

  it('prints a readable counterexample: the prefix, the op that cannot follow, its state', async () => {
    const ops = [read(0, 1, 2, null), write(1, 10, 11, 4), cas(2, 12.001, 12.004, 3, 0), read(3, 12.002, 12.003, 4)]
    const r = await checkOperations(casRegister, ops)
    expect(r.verdict).toBe('not-linearizable')
    const cx = r.counterexample!
    expect(cx.blocked.op).toBe(ops[2])
    expect(cx.linearized.map((c) => c.op)).toEqual([ops[0], ops[1], ops[3]])
    expect(cx.state).toBe('4')
    const lines = formatCounterexample(cx)
    expect(lines).toContain('  p1 write(4) ok  [t=10..11]  state nil → 4')
    expect(lines).toContain('  ✗ p2 cas(3→0) ok  [t=12.001..12.004]  state was 4')
  })

  it('shows only the last operations of a long prefix', async () => {
    const ops: KeyedOp[] = []
    for (let i = 0; i < 30; i++) ops.push(write(0, 2 * i, 2 * i + 1, i))
    ops.push(read(1, 100, 101, 3))
    const r = await checkOperations(casRegister, ops, { window: 5 })
    expect(r.counterexample!.omitted).toBe(25)
    expect(r.counterexample!.linearized).toHaveLength(5)
    expect(formatCounterexample(r.counterexample!)[1]).toBe('  … 25 earlier operation(s) linearized')
  })

  it('lists the concurrent ops that could not be placed either', async () => {
    const ops = [write(0, 0, 1, 1), cas(1, 3, 4, 5, 6), cas(2, 3, 9, 7, 8), write(3, 2, 0, 2, 'info')]
    const r = await checkOperations(casRegister, ops)
    expect(r.verdict).toBe('not-linearizable')
    expect(r.counterexample!.blocked.text).toBe('cas(5→6) ok')
    expect(r.counterexample!.pending.map((c) => c.text)).toEqual(['cas(7→8) ok'])
    expect(r.counterexample!.linearized.map((c) => c.text)).toEqual(['write(1) ok', 'write(2) info'])
  })

  it('answers unknown, never a pass, when the budget is spent', async () => {
    const ops = hardHistory(22)
    const r = await checkOperations(casRegister, ops, { budgetMs: 30 })
    expect(r.verdict).toBe('unknown')
    expect(r.reason).toBe('budget')
    expect(r.undecided).toBe(1)
    expect(r.steps).toBeGreaterThan(0)
  })

  it('answers unknown when aborted, even while searching', async () => {
    const pre = new AbortController()
    pre.abort()
    expect((await checkOperations(casRegister, hardHistory(22), { signal: pre.signal })).reason).toBe('aborted')
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 20)
    const started = performance.now()
    const r = await checkOperations(casRegister, hardHistory(22), { signal: controller.signal })
    expect(r.verdict).toBe('unknown')
    expect(r.reason).toBe('aborted')
    expect(performance.now() - started).toBeLessThan(5000)
  })

  it('reports a violation in one partition even when another is too hard to decide', async () => {
    const hard = hardHistory(22).map((o) => ({ ...o, input: { ...o.input, key: 'hard' } }))
    const easy = [write(0, 0, 1, 1, 'ok', 'easy'), read(1, 2, 3, 2, 'easy')]
    const r = await checkOperations(casRegisterPerKey, [...hard, ...easy], { budgetMs: 2000 })
    expect(r.verdict).toBe('not-linearizable')
    expect(r.counterexample!.partition).toBe('key "easy"')
  })

  it('agrees with a brute-force search on random small histories', async () => {
    const rng = createRng(20261127)
    for (const [rounds, infoRate] of [
      [1000, 0.2],
      [500, 0.5],
    ]) {
      let linearizable = 0
      for (let i = 0; i < rounds; i++) {
        const ops = randomHistory(rng, 3 + rng.int(6), infoRate)
        const expected = bruteForce(casRegister, ops)
        const got = await verdict(ops)
        if (got !== (expected ? 'linearizable' : 'not-linearizable')) {
          throw new Error(`history ${i}: WGL says ${got}, brute force ${expected}\n${JSON.stringify(ops)}`)
        }
        if (expected) linearizable++
      }
      // both verdicts well represented
      expect(linearizable).toBeGreaterThan(rounds / 10)
      expect(rounds - linearizable).toBeGreaterThan(rounds / 10)
    }
  })

  it('is resumable: a search run in slices of 1024 steps reaches the same verdict', () => {
    const histories = [hardHistory(9), [...hardHistory(9).slice(0, -1), read(9, 10, 11, 3)]]
    const rng = createRng(7)
    for (let i = 0; i < 20; i++) histories.push(randomHistory(rng, 7))
    let resumed = 0
    for (const ops of histories) {
      const relevant = ops.filter((o) => casRegister.relevant!(o))
      const whole = new WglSearch(casRegister, relevant)
      whole.run(Infinity)
      const sliced = new WglSearch(casRegister, relevant)
      let pauses = 0
      while (sliced.run(-1) === 'paused') pauses++
      expect(sliced.outcome).toBe(whole.outcome)
      expect(sliced.steps - pauses).toBe(whole.steps) // the same search, interrupted
      resumed += pauses
    }
    expect(resumed).toBeGreaterThan(10)
  })
})

describe('linearizability checker — kv', () => {
  const get = (p: number, c: number, r: number, key: string, out: string) => op(p, c, r, 'get', null, out, 'ok', key)
  const put = (p: number, c: number, r: number, key: string, v: string, s: OpStatus = 'ok') => op(p, c, r, 'put', v, undefined, s, key)
  const append = (p: number, c: number, r: number, key: string, v: string, s: OpStatus = 'ok') => op(p, c, r, 'append', v, undefined, s, key)

  it('gets "" for an unset key, and appends in order', async () => {
    expect(await verdict([get(0, 0, 1, 'a', ''), append(0, 2, 3, 'a', 'x'), append(1, 4, 5, 'a', 'y'), get(2, 6, 7, 'a', 'xy')], kv)).toBe('linearizable')
    expect(await verdict([append(0, 2, 3, 'a', 'x'), append(1, 4, 5, 'a', 'y'), get(2, 6, 7, 'a', 'yx')], kv)).toBe('not-linearizable')
  })

  it('orders concurrent appends either way, and keys independently', async () => {
    const ops = [append(0, 0, 5, 'a', 'x'), append(1, 0, 5, 'a', 'y'), put(2, 0, 1, 'b', 'z'), get(2, 6, 7, 'a', 'yx'), get(3, 6, 7, 'b', 'z')]
    expect(await verdict(ops, kv)).toBe('linearizable')
    const r = await checkOperations(kv, [...ops, get(3, 8, 9, 'b', '')])
    expect(r.verdict).toBe('not-linearizable')
    expect(r.counterexample!.partition).toBe('key "b"')
  })

  it('handles indeterminate puts and appends', async () => {
    expect(await verdict([append(0, 0, 0, 'a', 'x', 'info'), get(1, 5, 6, 'a', 'x')], kv)).toBe('linearizable')
    expect(await verdict([append(0, 0, 0, 'a', 'x', 'info'), get(1, 5, 6, 'a', '')], kv)).toBe('linearizable')
    expect(await verdict([put(0, 0, 0, 'a', 'x', 'fail'), get(1, 5, 6, 'a', 'x')], kv)).toBe('not-linearizable')
  })
})

/**
 * n concurrent indeterminate writes of distinct values, then a read of a value nobody wrote: not
 * linearizable, but only after trying every subset and order of the writes.
 */
function hardHistory(n: number): KeyedOp[] {
  const ops: KeyedOp[] = []
  for (let i = 0; i < n; i++) ops.push(write(i, i, 0, i, 'info'))
  ops.push(read(n, n + 1, n + 2, 999))
  return ops
}

/** A random history of a few processes on one register, sometimes corrupted. */
function randomHistory(rng: Rng, n: number, infoRate = 0.2): KeyedOp[] {
  const ops: KeyedOp[] = []
  let state: Value = null
  let t = 0
  for (let i = 0; i < n; i++) {
    t += rng.int(3)
    const call = t
    const ret = call + 1 + rng.int(6)
    const kind = rng.int(4)
    const v = rng.int(3)
    let o: KeyedOp
    if (kind === 0) o = read(i, call, ret, rng.int(3) === 0 ? rng.int(3) : state)
    else if (kind === 1) {
      o = write(i, call, ret, v, rng.next() < infoRate ? 'info' : 'ok')
      state = v
    } else {
      const from = rng.int(3) === 0 ? v : state
      const status: OpStatus = rng.next() < infoRate ? 'info' : from === state ? 'ok' : 'fail'
      o = cas(i, call, ret, from, (v + 1) % 3, status)
      if (status === 'ok') state = (v + 1) % 3
    }
    ops.push(o)
  }
  return ops
}

/** Tries every order: an op may go next if no remaining completed op returned before its call. */
function bruteForce(model: Model<any, any, any>, all: KeyedOp[]): boolean {
  const ops = all.filter((o) => model.relevant?.(o) ?? true)
  const solve = (remaining: KeyedOp[], state: unknown): boolean => {
    if (remaining.every((o) => o.return === Infinity)) return true
    for (const o of remaining) {
      if (remaining.some((x) => x !== o && x.return < o.call)) continue
      const next = model.step(state, o)
      if (next === ILLEGAL) continue
      if (
        solve(
          remaining.filter((x) => x !== o),
          next,
        )
      )
        return true
    }
    return false
  }
  return solve(ops, model.init())
}
