/** The counterexample the checker prints, parsed back into operations and drawn. */
import { describe, expect, it } from 'vitest'
import { checkOperations, formatCounterexample } from '../checkers/linearizability/checker.ts'
import { casRegister } from '../checkers/linearizability/models/cas-register.ts'
import type { OpStatus } from '../checkers/linearizability/model.ts'
import type { KeyedOp } from '../checkers/linearizability/models/values.ts'
import { counterexampleOf, counterexampleSvg, parseCounterexample } from './counterexample.ts'
import { fixture } from './fixtures.ts'

const op = (p: number, call: number, ret: number, f: string, value: unknown, output?: unknown, status: OpStatus = 'ok'): KeyedOp => ({
  process: p,
  call,
  return: status === 'info' ? Infinity : ret,
  status,
  input: { f, value },
  output,
})

describe('counterexample', () => {
  it('reads back what the checker prints: the prefix in order with its states, the blocked op, the concurrent ones', async () => {
    const ops = [op(0, 0, 1, 'write', 1), op(1, 3, 4, 'cas', [5, 6]), op(2, 3, 9, 'cas', [7, 8]), op(3, 2, 0, 'write', 2, undefined, 'info')]
    const r = await checkOperations(casRegister, ops)
    const lines = formatCounterexample(r.counterexample!)
    const cx = parseCounterexample(lines)!
    expect(cx.ops).toEqual([
      { process: 0, text: 'write(1) ok', call: 0, return: 1, role: 'linearized', order: 1, stateBefore: 'nil', stateAfter: '1' },
      { process: 3, text: 'write(2) info', call: 2, return: Infinity, role: 'linearized', order: 2, stateBefore: '1', stateAfter: '2' },
      { process: 1, text: 'cas(5→6) ok', call: 3, return: 4, role: 'blocked', stateBefore: '2' },
      { process: 2, text: 'cas(7→8) ok', call: 3, return: 9, role: 'pending' },
    ])
  })

  it('numbers the prefix after the operations it leaves out', async () => {
    const ops: KeyedOp[] = []
    for (let i = 0; i < 30; i++) ops.push(op(0, 2 * i, 2 * i + 1, 'write', i))
    ops.push(op(1, 100, 101, 'read', null, 3))
    const r = await checkOperations(casRegister, ops, { window: 5 })
    const cx = parseCounterexample(formatCounterexample(r.counterexample!))!
    expect(cx.omitted).toBe(25)
    expect(cx.ops.filter((o) => o.role === 'linearized').map((o) => o.order)).toEqual([26, 27, 28, 29, 30])
  })

  it('refuses lines that are not a counterexample, or have no blocked operation', () => {
    expect(parseCounterexample(['linearizable'])).toBeUndefined()
    expect(parseCounterexample(['counterexample: the longest linearizable prefix', '  p0 write(1) ok  [t=0..1]  state nil → 1'])).toBeUndefined()
  })

  it('draws a real run’s counterexample: a bar per operation, the blocked one in red, on the run clock', () => {
    const r = fixture('kv-cas-under-kill.deviated')
    const cx = counterexampleOf(r.probes.find((p) => p.name === 'kv-cas')!)!
    expect(cx.partition).toBe('key "k0"')
    expect(cx.originT).toBeGreaterThan(0)
    const svg = counterexampleSvg(cx, 'cx0')
    expect(svg.match(/class="cx-op /g)).toHaveLength(cx.ops.length)
    expect(svg.match(/data-role="blocked"/g)).toHaveLength(1)
    expect(svg).toContain('✗ cas(&quot;k0&quot;')
    // every process gets its label
    for (const p of new Set(cx.ops.map((o) => o.process))) expect(svg).toContain(`>p${p}</text>`)
  })
})
