/** The readout of real runs: events on the right second, recovery per fault, deviations and by how much. */
import { describe, expect, it } from 'vitest'
import { fixture } from './fixtures.ts'
import { runEvents } from './events.ts'
import { runCharts } from './series.ts'
import { describeRecovery, faultRecoveries } from './recovery.ts'
import { deviationBy, readout, readoutMarkdown } from './readout.ts'
import { metricText } from './format.ts'
import type { RunResult } from './result.ts'

const lane = (r: RunResult, title: string) => runEvents(r).lanes.find((l) => l.title === title)

describe('run events', () => {
  it('places the flagship’s fault window and meta-leader change on the run clock, at the second the journal recorded', () => {
    const r = fixture('nats-node-kill.passed')
    const e = runEvents(r)
    const kill = r.faults[0]
    expect(e.windows).toEqual([expect.objectContaining({ from: Math.round(kill.injectingT!) / 1000, to: Math.round(kill.revertedT!) / 1000, label: 'nats.kill-node → n4', tone: 'fault' })])
    const change = r.evidence.find((x) => x.kind === 'meta-leader-change')!
    const leader = lane(r, 'meta leader')!
    expect(leader.marks).toEqual([expect.objectContaining({ t: Math.round(change.t) / 1000, label: 'meta leader n4 → n5' })])
    // the leader before and after, as spans that meet at the change
    expect(leader.spans.map((s) => s.label)).toEqual(['n4', 'n5'])
    expect(leader.spans[0].to).toBe(leader.spans[1].from)
    // 5 seconds after the kill: the election took that long, and the page says so
    expect(change.t - kill.injectingT!).toBeGreaterThan(4000)
    expect(e.markers.some((m) => m.label === 'meta leader n4 → n5')).toBe(true)
    expect(lane(r, 'cluster health')!.spans[0]).toMatchObject({ tone: 'bad', label: expect.stringMatching(/^unhealthy/) })
    expect(e.domain.min).toBeLessThanOrEqual(kill.injectingT! / 1000)
    expect(e.domain.max).toBeGreaterThanOrEqual(kill.revertedT! / 1000)
  })

  it('draws one lane per breaker with its open and half-open stretches, and none when no breaker opened', () => {
    const r = fixture('redis-throttle.deviated')
    const breakers = runEvents(r).lanes.filter((l) => l.title.startsWith('breaker '))
    expect(breakers.map((l) => l.title)).toEqual(['breaker ai-integration-1', 'breaker ai-integration-2'])
    for (const b of breakers) {
      expect(b.spans.some((s) => s.label === 'open' && s.tone === 'bad')).toBe(true)
      expect(b.spans.some((s) => s.label === 'half-open' && s.tone === 'warn')).toBe(true)
      expect(b.marks.at(-1)!.label).toMatch(/closed$/)
    }
    expect(runEvents(fixture('redis-throttle.no-breaker')).lanes.filter((l) => l.title.startsWith('breaker '))).toEqual([])
  })

  it('shows task stops with their replacement, lame ducks and client reconnections', () => {
    const tasks = lane(fixture('fargate-task-stop.passed'), 'tasks ai-integration')!
    expect(tasks.spans[0].label).toBe('stop ai-integration-1')
    expect(tasks.marks[0].label).toBe('ai-integration-3 ready')
    expect(tasks.marks[0].t - tasks.spans[0].from).toBeCloseTo(1.124, 2)
    const ld = fixture('nats-lame-duck.passed')
    expect(lane(ld, 'lame duck')!.spans.map((s) => s.label)).toEqual(['n1 lame duck', 'n2 lame duck', 'n3 lame duck', 'n4 lame duck', 'n5 lame duck'])
    expect(lane(ld, 'client reconnects')!.spans.length).toBeGreaterThanOrEqual(3)
  })

  it('marks the counterexample at its run-clock time', () => {
    const r = fixture('kv-cas-under-kill.deviated')
    const mark = lane(r, 'data & requests')!.marks[0]
    expect(mark.label).toMatch(/^counterexample: p\d+ cas\("k0"/)
    expect(mark.tone).toBe('bad')
    expect(mark.t).toBeGreaterThan(28)
  })
})

describe('charts', () => {
  it('groups each probe’s series by unit, on the run clock, with the tolerances that bear on them', () => {
    const r = fixture('nats-node-kill.passed')
    const charts = runCharts(r)
    const load = r.probes.find((p) => p.name === 'gateway-load')!
    const rate = charts.find((c) => c.probe === 'gateway-load' && c.unit === 'ratio')!
    expect(rate.tolerances).toEqual([{ value: 0.95, label: 'successRate >= 95% (over the whole probe)', holds: 'above' }])
    expect(rate.x[0]).toBeCloseTo(load.startedT! / 1000 + 0.5, 3)
    expect(charts.find((c) => c.probe === 'gateway-load' && c.unit === 'ms')!.tolerances[0]).toMatchObject({ value: 2000, holds: 'below' })
    const state = charts.find((c) => c.probe === 'cluster-watch' && c.unit === 'state')!
    expect(state.lines.map((l) => l.key)).toEqual(['healthy', 'routesFull'])
    expect(state.step).toBe(true)
  })
})

describe('recovery per fault', () => {
  it('measures the flagship’s recovery from the revert to the cluster healthy again', () => {
    const [kill] = faultRecoveries(fixture('nats-node-kill.passed'))
    expect(kill).toMatchObject({ recoveredMs: 802, recoveredFrom: 'revert', lastBack: 'cluster healthy', unrecovered: [] })
    expect(kill.signals.map((s) => s.name)).toEqual(expect.arrayContaining(['meta leader elected', 'cluster healthy', 'gateway-load within tolerance']))
    expect(describeRecovery(kill)).toBe('802ms after the revert (last back: cluster healthy)')
  })

  it('times breakers and replacements, and says when nothing measured a recovery', () => {
    const [throttle] = faultRecoveries(fixture('redis-throttle.passed'))
    expect(throttle.lastBack).toBe('breakers closed')
    expect(throttle.recoveredMs).toBeCloseTo(808, -1)
    const [stop] = faultRecoveries(fixture('fargate-task-stop.passed'))
    expect(stop).toMatchObject({ recoveredFrom: 'injection', lastBack: 'ai-integration-1 replaced' })
    const [noBreaker] = faultRecoveries(fixture('redis-throttle.no-breaker'))
    expect(noBreaker.signals.map((s) => s.text)).toContain('breaker: no breaker opened')
    expect(describeRecovery(noBreaker)).toBe('no impact measured: every signal stayed normal')
  })

  it('says a fault was not recovered from when a signal stayed off', () => {
    const r = fixture('nats-node-kill.passed')
    r.evidence = r.evidence.map((e) => (e.kind === 'recovery' ? { ...e, data: { unrecoveredAfterMs: 60_000 } } : e))
    const [kill] = faultRecoveries(r)
    expect(kill.recoveredMs).toBeUndefined()
    expect(describeRecovery(kill)).toBe('not recovered: cluster not healthy 1m0s after the revert')
  })

  it('falls back on the cluster probe’s samples for journals written before recoveries were recorded', () => {
    const r = fixture('nats-node-kill.passed')
    r.evidence = r.evidence.filter((e) => e.kind !== 'recovery')
    const [kill] = faultRecoveries(r)
    expect(kill.lastBack).toBe('cluster healthy')
    expect(kill.recoveredMs).toBeGreaterThan(0)
    expect(kill.recoveredMs).toBeLessThan(2000)
  })
})

describe('readout', () => {
  it('says what deviated and by how much', () => {
    const o = readout(fixture('redis-throttle.deviated'))
    expect(o.deviations.map((d) => `${d.probe}: ${d.what} — ${d.by}`)).toEqual([
      'breaker: openP99 < 5ms — 497.1ms against < 5ms: 492.1ms over (99.42×)',
      'inventory-slo: p99 < 250ms — 436.0ms against < 250ms: 186.0ms over (1.74×)',
    ])
    const cas = readout(fixture('kv-cas-under-kill.deviated'))
    expect(cas.deviations.map((d) => d.by)).toEqual(['false, expected == true', '123 against == 0: 123 over'])
    expect(readout(fixture('nats-node-kill.passed')).deviations).toEqual([])
  })

  it('formats a missed rate in points, and a missing value as such', () => {
    expect(deviationBy({ tolerance: 'successRate >= 99.9%', metric: 'successRate', ok: false, actual: 0.97, expected: 0.999 })).toBe('97.00% against >= 99.900%: 2.90 points under')
    expect(deviationBy({ tolerance: 'opensWithinMs < 5s', metric: 'opensWithinMs', ok: false, actual: null as never, expected: 5000, reason: 'no samples' })).toBe('no value (no samples)')
    expect(metricText('openP99', 10.67)).toBe('10.7ms')
    expect(metricText('opensWithinMs', 2490.9)).toBe('2.49s')
  })

  it('gives the SRE a Markdown block to paste: verdict, score, injected with time to recover, deviations', () => {
    const md = readoutMarkdown(readout(fixture('redis-throttle.deviated')))
    expect(md).toMatch(/^\*\*redis-throttle: DEVIATED\*\* — score \d+\/100, confidence high \(100%\)\n/)
    expect(md).toContain('- redis.throttle → cache at 19.9s for 16.1s — time to recover: ')
    expect(md).toContain('- during · breaker: `openP99 < 5ms` — 497.1ms against < 5ms')
  })
})
