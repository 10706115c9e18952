import { describe, expect, it } from 'vitest'
import { evaluateTolerance, formatMetric, parseTolerance } from './tolerance.ts'

describe('tolerances', () => {
  it('parses percentages, durations, numbers, booleans and words', () => {
    expect(parseTolerance('successRate >= 99.9%')).toMatchObject({ metric: 'successRate', op: '>=', value: 0.999 })
    expect(parseTolerance('p99 < 50ms')).toMatchObject({ metric: 'p99', op: '<', value: 50 })
    expect(parseTolerance('recoveryMs<30s')).toMatchObject({ metric: 'recoveryMs', op: '<', value: 30_000 })
    expect(parseTolerance('lost == 0')).toMatchObject({ value: 0 })
    expect(parseTolerance('healthy == true')).toMatchObject({ value: true })
    expect(parseTolerance('verdict == linearizable')).toMatchObject({ value: 'linearizable' })
    expect(() => parseTolerance('p99 is small')).toThrow(/invalid tolerance/)
  })

  it('judges metrics, and fails on a missing or empty metric instead of passing', () => {
    const m = { successRate: 0.9995, p99: 51, lost: 0, verdict: 'linearizable', empty: NaN }
    expect(evaluateTolerance(parseTolerance('successRate >= 99.9%'), m).ok).toBe(true)
    expect(evaluateTolerance(parseTolerance('p99 < 50ms'), m).ok).toBe(false)
    expect(evaluateTolerance(parseTolerance('lost == 0'), m).ok).toBe(true)
    expect(evaluateTolerance(parseTolerance('verdict == linearizable'), m).ok).toBe(true)
    expect(evaluateTolerance(parseTolerance('verdict != linearizable'), m).ok).toBe(false)
    const missing = evaluateTolerance(parseTolerance('p999 < 1s'), m)
    expect(missing.ok).toBe(false)
    expect(missing.reason).toMatch(/was not reported/)
    expect(evaluateTolerance(parseTolerance('empty < 1'), m).ok).toBe(false)
    expect(evaluateTolerance(parseTolerance('verdict > 3'), m).ok).toBe(false)
  })

  it('formats fractions as percentages, throughput per second, durations in ms', () => {
    expect(formatMetric('successRate', 0.9995)).toBe('99.950%')
    expect(formatMetric('achievedRate', 99.97)).toBe('100.0/s')
    expect(formatMetric('p99', 12.345)).toBe('12.3ms')
    expect(formatMetric('lost', 0)).toBe('0')
  })
})
