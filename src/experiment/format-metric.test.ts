import { describe, expect, it } from 'vitest'
import { formatMetric } from './tolerance.ts'

describe('formatMetric', () => {
  it('formats by the declared unit when there is one', () => {
    expect(formatMetric('indeterminate', 192, 'count')).toBe('192')
    expect(formatMetric('max', 0.5, 'number')).toBe('0.500')
    expect(formatMetric('failFastP90', 35.52, 'ms')).toBe('35.5ms')
    expect(formatMetric('answeredRate', 0.9995, 'ratio')).toBe('99.950%')
    expect(formatMetric('achievedRate', 99.96, 'per-second')).toBe('100.0/s')
  })
  it('falls back on the name for journals written before units were declared, without mistaking words for units', () => {
    expect(formatMetric('p99', 14.9)).toBe('14.9ms')
    expect(formatMetric('successRate', 1)).toBe('100.00%')
    expect(formatMetric('indeterminate', 192)).toBe('192')
    expect(formatMetric('recoveryMs', 899.8)).toBe('899.8ms')
  })
})
