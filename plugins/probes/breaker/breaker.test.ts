import { describe, expect, it } from 'vitest'
import { analyseCalls, callSeries, type Call, type CallJudgement } from './calls.ts'
import { analyseStates, transitions, type StateChange } from './states.ts'
import { PrometheusSource, statesInText } from './sources.ts'
import { hasMarker } from '../circuit-breaker.ts'
import { createRng } from '../../../src/util/rng.ts'
import type { FaultEvent } from '../../../src/api/index.ts'

const judgement: CallJudgement = { markerConfigured: true, fastMs: 100, windowMs: 1000, failFastShare: 0.9, normalShare: 0.9, minCalls: 3 }
const faults: FaultEvent[] = [
  { at: 3_000, kind: 'injected', faultId: 'f1', type: 'redis.throttle' },
  { at: 13_000, kind: 'reverted', faultId: 'f1', type: 'redis.throttle' },
]

/**
 * 50 calls/s for 20 s, seeded: normal (~5 ms) before the fault; from 3 s, slow timeouts (200 ms,
 * degraded) until the breaker opens at `opensAt`, then degraded and fast (~2 ms) but for one
 * half-open trial in 50 (200 ms); normal again from `closesAt`.
 */
function history(opts: { opensAt?: number; closesAt: number; slow?: (c: Call) => Call }): Call[] {
  const rng = createRng(7)
  const calls: Call[] = []
  for (let i = 0; i < 1000; i++) {
    const t = i * 20
    const jitter = rng.next() * 3
    let call: Call
    if (t < 3_000 || t >= opts.closesAt) call = { t, latency: 4 + jitter, status: 200, degraded: false }
    else if (opts.opensAt === undefined || t < opts.opensAt) call = { t, latency: 200 + jitter, status: 200, degraded: true }
    else call = i % 50 === 25 ? { t, latency: 201, status: 200, degraded: true } : { t, latency: 1 + jitter, status: 200, degraded: true }
    calls.push(opts.slow ? opts.slow(call) : call)
  }
  return calls
}

describe('circuit-breaker, black-box: judging from the calls alone', () => {
  it('a breaker that opens: when calls failed fast, how fast, and when normal answers came back', () => {
    const r = analyseCalls(history({ opensAt: 4_000, closesAt: 15_000 }), faults, judgement)
    expect(r.failFastAt).toBe(4_000)
    expect(r.failFastWithinMs).toBe(1_000)
    expect(r.recoveredAt).toBe(15_000)
    expect(r.recoveredWithinMs).toBe(2_000)
    expect(r.failedWhileFailingFast).toBe(550)
    expect(r.failFastP90).toBeLessThan(5)
    // the half-open trials are in the tail: p99 shows them, p90 does not
    expect(r.failFastP99).toBeGreaterThan(200)
    expect(r.fastShare).toBeCloseTo(539 / 550, 3)
  })

  it('a breaker that never opens (slow degraded answers, or slow normal ones): never fails fast', () => {
    const degradedSlow = analyseCalls(history({ closesAt: 13_000 }), faults, judgement)
    expect(degradedSlow.failFastWithinMs).toBeNaN()
    expect(degradedSlow.failFastP99).toBeNaN()
    expect(degradedSlow.recoveredWithinMs).toBe(0)
    const slowButNormal = analyseCalls(
      history({ closesAt: 13_000, slow: (c) => (c.degraded ? { ...c, latency: 600, degraded: false } : c) }),
      faults,
      judgement,
    )
    expect(slowButNormal.failFastWithinMs).toBeNaN()
    expect(slowButNormal.failed).toBe(0)
  })

  it('a breaker stuck open: normal answers never come back', () => {
    const r = analyseCalls(history({ opensAt: 4_000, closesAt: 99_000 }), faults, judgement)
    expect(r.failFastWithinMs).toBe(1_000)
    expect(r.recoveredWithinMs).toBeNaN()
    expect(r.failFastUntil).toBe(19_981)
  })

  it('without a marker any failure counts; with one, only marked answers are the fail-fast answers', () => {
    const errors = history({ opensAt: 4_000, closesAt: 15_000 }).map((c) => (c.degraded ? { ...c, degraded: false, status: 503 } : c))
    expect(analyseCalls(errors, faults, { ...judgement, markerConfigured: false }).failFastWithinMs).toBe(1_000)
    expect(analyseCalls(errors, faults, judgement).failFastWithinMs).toBeNaN()
  })

  it('no fault: nothing to start from', () => {
    expect(analyseCalls(history({ opensAt: 4_000, closesAt: 15_000 }), [], judgement).failFastWithinMs).toBeNaN()
  })

  it('per second: latency and status classes', () => {
    const calls: Call[] = [
      { t: 100, latency: 5, status: 200, degraded: false },
      { t: 200, latency: 2, status: 200, degraded: true },
      { t: 1_100, latency: 900, status: 0, degraded: false },
      { t: 1_200, latency: 3, status: 503, degraded: false },
    ]
    expect(callSeries(calls, 0, { markerConfigured: false, fastMs: 100 })).toEqual([
      { t: 0, requests: 2, successRate: 0.5, normal: 1, degraded: 1, fastFail: 1, status2xx: 2, status4xx: 0, status5xx: 0, noAnswer: 0, p50: 2, p99: 5 },
      { t: 1, requests: 2, successRate: 0, normal: 0, degraded: 0, fastFail: 1, status2xx: 0, status4xx: 0, status5xx: 1, noAnswer: 1, p50: 3, p99: 900 },
    ])
  })
})

describe('circuit-breaker: degraded markers', () => {
  it('a JSON field, a header (present, or with a value), a status code', () => {
    expect(hasMarker({ json: '/degraded', equals: true }, 200, {}, { degraded: true })).toBe(true)
    expect(hasMarker({ json: '/degraded', equals: true }, 200, {}, { degraded: false })).toBe(false)
    expect(hasMarker({ json: '/meta/source', equals: 'fallback' }, 200, {}, { meta: { source: 'fallback' } })).toBe(true)
    expect(hasMarker({ json: '/degraded', equals: true }, 200, {}, undefined)).toBe(false)
    expect(hasMarker({ header: 'X-Degraded' }, 200, { 'x-degraded': '1' }, undefined)).toBe(true)
    expect(hasMarker({ header: 'x-degraded', equals: 'true' }, 200, { 'x-degraded': 'false' }, undefined)).toBe(false)
    expect(hasMarker({ status: [503, 429] }, 429, {}, undefined)).toBe(true)
    expect(hasMarker({ status: 503 }, 500, {}, undefined)).toBe(false)
    expect(hasMarker(undefined, 503, {}, undefined)).toBe(false)
  })
})

describe('circuit-breaker, white-box: breaker states', () => {
  const changes: StateChange[] = [
    { t: 3_500, instance: 'ai-1', state: 'open' },
    { t: 3_600, instance: 'ai-1', state: 'open' }, // repeated: not a transition
    { t: 3_800, instance: 'ai-2', state: 'open' },
    { t: 5_800, instance: 'ai-1', state: 'half-open' },
    { t: 5_900, instance: 'ai-1', state: 'open' },
    { t: 14_000, instance: 'ai-1', state: 'half-open' },
    { t: 14_100, instance: 'ai-1', state: 'closed' },
    { t: 14_500, instance: 'ai-2', state: 'closed' },
  ]

  it('transitions, opens and closes against the fault timeline; answers while open attributed or not', () => {
    expect(transitions(changes)).toHaveLength(7)
    const calls = [
      { t: 4_000, latency: 2, servedBy: 'ai-1' }, // open throughout
      { t: 5_799, latency: 5, servedBy: 'ai-1' }, // met the half-open trial
      { t: 3_700, latency: 2, servedBy: 'ai-2' }, // ai-2 not open yet
      { t: 4_100, latency: 3 }, // unattributed: both open throughout
      { t: 3_700, latency: 3 }, // unattributed: ai-2 not open
    ]
    expect(analyseStates(changes, calls, faults)).toEqual({
      opens: 3,
      halfOpens: 2,
      closes: 2,
      tasksOpened: 2,
      stuckOpen: 0,
      opensWithinMs: 500,
      closesWithinMs: 1_500,
      answeredWhileOpen: 2,
      openP99: 3,
    })
  })

  it('a breaker still open at the end is stuck, and nothing closed', () => {
    const r = analyseStates(changes.slice(0, 5), [], faults)
    expect(r).toMatchObject({ stuckOpen: 2, closesWithinMs: NaN, opens: 3 })
  })
})

describe('circuit-breaker, white-box: Prometheus text', () => {
  const text = [
    '# HELP gameday_breaker_state circuit breaker state: 0 closed, 1 open, 2 half-open',
    '# TYPE gameday_breaker_state gauge',
    'gameday_breaker_state{breaker="ai-integration-redis",service="ai-integration",task="ai-1",az="az-a"} 1',
    'gameday_breaker_state{breaker="ai-integration-redis",service="ai-integration",task="ai-2",az="az-b"} 0',
    'gameday_breaker_state{breaker="other",service="ai-integration",task="ai-1",az="az-a"} 2',
    '# TYPE resilience4j_circuitbreaker_state gauge',
    'resilience4j_circuitbreaker_state{name="inventory",state="closed"} 0',
    'resilience4j_circuitbreaker_state{name="inventory",state="open"} 0',
    'resilience4j_circuitbreaker_state{name="inventory",state="half_open"} 1',
    '',
  ].join('\n')
  const cfg = (over: Record<string, unknown>) => PrometheusSource.parse({ prometheus: { urls: ['http://127.0.0.1:1/metrics'], ...over } }).prometheus

  it('a state gauge by value, chosen by metric name and labels, per instance label', () => {
    const seen = statesInText(text, cfg({ metric: 'gameday_breaker_state', labels: { breaker: 'ai-integration-redis' }, instance: 'task' }), 'u')
    expect([...seen]).toEqual([
      ['ai-1', 'open'],
      ['ai-2', 'closed'],
    ])
  })

  it('one series per state label (resilience4j), the endpoint as the instance', () => {
    const seen = statesInText(
      text,
      cfg({ metric: 'resilience4j_circuitbreaker_state', labels: { name: 'inventory' }, stateLabel: 'state' }),
      'http://x/metrics',
    )
    expect([...seen]).toEqual([['http://x/metrics', 'half-open']])
  })

  it('custom state values; nothing when the metric is absent', () => {
    const seen = statesInText(
      text,
      cfg({ metric: 'gameday_breaker_state', labels: { breaker: 'other' }, instance: 'task', states: { closed: 0, open: 2, 'half-open': 1 } }),
      'u',
    )
    expect([...seen]).toEqual([['ai-1', 'open']])
    expect(statesInText(text, cfg({ metric: 'nope' }), 'u').size).toBe(0)
  })
})
