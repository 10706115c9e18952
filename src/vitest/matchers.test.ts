import { describe, expect, it } from 'vitest'
import './index.ts'
import { holdsSteadyState, meets, toleranceFor } from './matchers.ts'
import { withAccessors } from './result.ts'
import type { ProbeVerdict, RunResult } from '../reports/result.ts'

function verdict(name: string, phase: ProbeVerdict['phase'], ok: boolean, metrics: ProbeVerdict['metrics'] = {}): ProbeVerdict {
  return {
    name,
    type: 'test-probe',
    phase,
    verdict: ok ? 'pass' : 'fail',
    metrics,
    tolerances: [{ tolerance: 'x == 1', metric: 'x', ok, actual: ok ? 1 : 0, expected: 1 }],
    violations: [],
  }
}

function run(status: RunResult['status'], probes: ProbeVerdict[]): RunResult {
  return {
    runId: 'r1',
    experiment: 'e',
    experimentFile: 'e.yaml',
    environment: 'local',
    seed: 1,
    status,
    startedAt: new Date(0).toISOString(),
    faults: [],
    probes,
    steps: [],
    guardrails: [],
    evidence: [],
    timeline: [],
  }
}

describe('toHoldSteadyState', () => {
  it('passes for a passed run, or when every before/after verdict passed though the run deviated during the method', () => {
    expect(run('passed', [])).toHoldSteadyState()
    const deviated = run('deviated', [verdict('slo', 'before', true), verdict('load', 'during', false), verdict('slo', 'after', true)])
    expect(deviated).toHoldSteadyState()
  })

  it('fails when a steady-state verdict failed, or the steady state was never checked after the method, saying which', () => {
    const broken = run('deviated', [verdict('slo', 'before', true), verdict('slo', 'after', false)])
    expect(broken).not.toHoldSteadyState()
    expect(holdsSteadyState(broken).message()).toMatch(/✗ slo \(after\): x == 1 → 0 ✗/)
    const aborted = run('aborted', [verdict('slo', 'before', true)])
    expect(aborted).not.toHoldSteadyState()
    expect(holdsSteadyState(aborted).message()).toContain('never checked after')
    expect(holdsSteadyState({ nope: true }).pass).toBe(false)
  })
})

describe('toMeet', () => {
  const v = verdict('load', 'during', true, { successRate: 0.9995, p99: 812, lost: 0, verdict: 'linearizable', unrecovered: false })

  it('reads values as equality and strings with an operator as tolerances, with the experiments’ units', () => {
    expect(toleranceFor('lost', 0)).toBe('lost == 0')
    expect(toleranceFor('p99', '< 2s')).toBe('p99 < 2s')
    expect(toleranceFor('verdict', 'linearizable')).toBe('verdict == linearizable')
    expect(v).toMeet({ lost: 0, successRate: '>= 99.9%', p99: '< 1s', verdict: 'linearizable', unrecovered: false })
  })

  it('fails with every metric’s figure, and says when a metric was not reported', () => {
    expect(v).not.toMeet({ successRate: '>= 99.99%' })
    const out = meets(v, { p99: '< 500ms', lost: 0, nope: 1 })
    expect(out.pass).toBe(false)
    expect(out.message()).toContain('✗ p99 < 500ms → 812')
    expect(out.message()).toContain('✓ lost == 0')
    expect(out.message()).toMatch(/✗ nope == 1 → not reported \(metric "nope" was not reported/)
    expect(meets(run('passed', []), { lost: 0 }).message()).toContain('result.probe(name)')
  })
})

describe('result.probe', () => {
  it('gives the last verdict of a probe, or the one of a phase, and lists what ran when there is none', () => {
    const r = withAccessors(run('passed', [verdict('slo', 'before', true, { n: 1 }), verdict('slo', 'after', true, { n: 2 })]), {
      runDir: '/tmp/x',
      exitCode: 0,
      output: [],
    })
    expect(r.probe('slo').metrics.n).toBe(2)
    expect(r.probe('slo', 'before').metrics.n).toBe(1)
    expect(r.verdicts('slo')).toHaveLength(2)
    expect(() => r.probe('other')).toThrow(/no verdict for probe "other".*slo \(before\), slo \(after\)/)
  })
})
