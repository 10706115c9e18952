/** The resilience score: failures lower it, an inconclusive verdict lowers only the confidence. */
import { describe, expect, it } from 'vitest'
import { fixture } from './fixtures.ts'
import type { ProbeVerdict, RunResult } from './result.ts'
import { confidenceLevel, experimentTrend, runScore, verdictHeld } from './score.ts'

const verdict = (phase: ProbeVerdict['phase'], v: ProbeVerdict['verdict'], oks: boolean[], extra: Partial<ProbeVerdict> = {}): ProbeVerdict => ({
  name: `${phase}-${v}-${oks.join('')}`,
  type: 'request-slo',
  phase,
  verdict: v,
  metrics: {},
  tolerances: oks.map((ok, i) => ({ tolerance: `m${i} > 1`, metric: `m${i}`, ok, actual: ok ? 2 : 0, expected: 1 })),
  violations: [],
  ...extra,
})

const run = (probes: ProbeVerdict[], extra: Partial<RunResult> = {}): RunResult => ({
  runId: 'r',
  experiment: 'x',
  experimentFile: 'x.yaml',
  environment: 'local',
  seed: 1,
  status: 'passed',
  startedAt: '2026-12-01T00:00:00.000Z',
  faults: [],
  probes,
  steps: [],
  guardrails: [],
  evidence: [],
  timeline: [],
  ...extra,
})

describe('resilience score', () => {
  it('is 100 with full confidence when every verdict passed on evidence', () => {
    expect(runScore(fixture('nats-node-kill.passed'))).toMatchObject({ score: 100, confidence: 1 })
  })

  it('weighs a failed check during the method three times one before it', () => {
    const during = runScore(run([verdict('before', 'pass', [true]), verdict('during', 'fail', [true, false])]))
    const before = runScore(run([verdict('before', 'fail', [true, false]), verdict('during', 'pass', [true])]))
    // (1·1 + 3·½) / 4 and (1·½ + 3·1) / 4
    expect(during.score).toBe(63)
    expect(before.score).toBe(88)
  })

  it('leaves an inconclusive verdict out of the score and lowers the confidence instead', () => {
    const passed = run([verdict('before', 'pass', [true]), verdict('during', 'pass', [true])])
    const withInconclusive = run([verdict('before', 'pass', [true]), verdict('during', 'inconclusive', [true], { inconclusive: ['no CAS met another'] })])
    expect(runScore(passed)).toMatchObject({ score: 100, confidence: 1 })
    const s = runScore(withInconclusive)
    expect(s.score).toBe(100)
    expect(s.confidence).toBe(0.25)
    expect(confidenceLevel(s.confidence)).toBe('low')
    expect(s.notes[0]).toMatch(/inconclusive: not scored, lowers the confidence/)
    // the broken variant: counting it as a failure would have lowered the score
    expect(runScore(run([verdict('before', 'pass', [true]), verdict('during', 'fail', [true])])).score).toBeLessThan(100)
  })

  it('counts violations and tripped guardrails as failed checks; a fail never scores as a pass', () => {
    expect(verdictHeld(verdict('during', 'fail', [true], { violations: ['linearizability unknown'] }))).toBe(0.5)
    expect(verdictHeld(verdict('during', 'fail', []))).toBe(0)
    const tripped = run([verdict('during', 'pass', [true])], { status: 'aborted', reason: 'guardrail tripped', guardrails: [{ guardrail: 'probe live', detail: 'x', at: '' }] })
    expect(runScore(tripped).score).toBe(50)
  })

  it('does not score a run that errored, crashed or was interrupted, nor one with no evidence at all', () => {
    const errored = runScore(run([verdict('during', 'pass', [true])], { status: 'errored', reason: 'inject exploded' }))
    expect(errored.score).toBeUndefined()
    expect(errored.confidence).toBe(0)
    expect(runScore(run([], { status: 'aborted', reason: 'signal SIGINT' })).notes[0]).toBe('not scored: the run aborted (signal SIGINT)')
    expect(runScore(run([], { status: 'incomplete' })).notes[0]).toMatch(/did not finish/)
    expect(runScore(run([verdict('during', 'inconclusive', [true])])).notes).toContain('not scored: no verdict rests on evidence')
  })

  it('follows an experiment over time: confidence-weighted mean of the last five, and the change since the run before', () => {
    const at = (d: number) => `2026-12-0${d}T00:00:00.000Z`
    const t = experimentTrend('x', [
      { runId: 'c', startedAt: at(3), status: 'deviated', score: 50, confidence: 1 },
      { runId: 'a', startedAt: at(1), status: 'passed', score: 100, confidence: 1 },
      { runId: 'b', startedAt: at(2), status: 'inconclusive', score: 100, confidence: 0.5 },
      { runId: 'd', startedAt: at(4), status: 'errored', confidence: 0 },
    ])
    expect(t.runs.map((r) => r.runId)).toEqual(['a', 'b', 'c', 'd'])
    expect(t.current).toBe(80) // (100·1 + 100·0.5 + 50·1) / 2.5
    expect(t.change).toBe(-50)
  })
})
