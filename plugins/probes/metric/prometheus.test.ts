/**
 * The prometheus probe against a real Prometheus scraping the reference ai-integration tasks'
 * /metrics: instant and range queries, several series reduced or refused, no data, a bad query —
 * and an SLO kept in Prometheus ("the breaker opened while Redis was slow") that passes on the
 * reference service and FAILS on one whose breaker never opens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prometheus } from './prometheus.ts'
import { reduceSeries, summarise } from './series.ts'
import { evaluateTolerance, parseTolerance } from '../../../src/experiment/tolerance.ts'
import type { ProbeResult } from '../../../src/api/index.ts'
import { sleep, waitFor } from '../../../src/util/abort.ts'
import { http } from '../../../target/testing/tasks.ts'
import { startBreakerSystem, type BreakerSystem } from '../../../test/correctness/breaker-system.ts'
import { startPrometheus, type PrometheusServer } from '../../../test/correctness/prometheus-server.ts'
import { probeContext } from '../../../test/correctness/support.ts'

const holds = (r: ProbeResult, tolerance: string) => evaluateTolerance(parseTolerance(tolerance), r.metrics).ok

describe('metric series: reduce and summarise (pure)', () => {
  const a = { name: 'a', samples: [1, 2, 3].map((v, i) => ({ at: 1000 * i, value: v })) }
  const b = { name: 'b', samples: [5, 0, 1].map((v, i) => ({ at: 1000 * i, value: v })) }

  it('one series as it is; several reduced per timestamp, or refused with the next step', () => {
    expect(reduceSeries([a], undefined, 'q')).toBe(a.samples)
    expect(reduceSeries([a, b], 'max', 'q').map((s) => s.value)).toEqual([5, 2, 3])
    expect(reduceSeries([a, b], 'sum', 'q').map((s) => s.value)).toEqual([6, 2, 4])
    expect(() => reduceSeries([a, b], undefined, 'the query "x"')).toThrow(
      'the query "x" answered 2 series (a; b): aggregate them in the query, or set reduce: max | min | sum | avg',
    )
  })

  it('value (latest), min, max, mean; no data is inconclusive, a failure, or zero, as asked', () => {
    expect(summarise(a.samples, 1, 'inconclusive', 0, 'q').metrics).toEqual({ value: 3, min: 1, max: 3, mean: 2, samples: 3, series: 1 })
    expect(summarise([], 0, 'inconclusive', 0, 'q').inconclusive).toEqual(['q returned no data: nothing to judge'])
    expect(summarise([], 0, 'fail', 0, 'q').violations).toEqual(['q returned no data'])
    expect(summarise([], 0, 'zero', 0, 'q').metrics).toMatchObject({ value: 0, max: 0, samples: 0 })
  })
})

describe('prometheus probe against a real Prometheus', () => {
  let system: BreakerSystem
  let server: PrometheusServer
  beforeAll(async () => {
    system = await startBreakerSystem({ taskEnv: { BREAKER_EVENTS: 'off' } })
    server = await startPrometheus(system.metricsTargets)
    await server.targetsUp()
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
    await system?.stop()
  })

  const oneShot = async (params: Record<string, unknown>) => {
    const ctx = probeContext(system.env, 'slo')
    try {
      return await (
        await prometheus.create(ctx, prometheus.params.parse({ url: server.url, ...params }))
      ).run!()
    } finally {
      ctx.cleanup()
    }
  }

  it('an instant query: the breakers of both tasks, closed', async () => {
    const r = await oneShot({ query: 'max(gameday_breaker_state{breaker="ai-integration-redis"})' })
    expect(r.metrics).toMatchObject({ value: 0, samples: 1, series: 1 })
    expect(holds(r, 'value == 0')).toBe(true)
    const perTask = await oneShot({ query: 'gameday_breaker_state', reduce: 'max' })
    expect(perTask.metrics).toMatchObject({ value: 0, series: 2 })
    await expect(oneShot({ query: 'gameday_breaker_state' })).rejects.toThrow(
      /answered 2 series \(gameday_breaker_state\{.*task="ai-[12]".*\}; .*\): aggregate them in the query, or set reduce/,
    )
  })

  it('a range query over the last window; no data is inconclusive; a bad query says what Prometheus said', async () => {
    await sleep(1_500)
    const r = await oneShot({ query: 'count(up{job="gameday-target"} == 1)', window: '1s', step: '250ms' })
    expect(r.metrics).toMatchObject({ min: 2, max: 2 })
    expect(r.metrics.samples).toBeGreaterThanOrEqual(4)
    const none = await oneShot({ query: 'gameday_no_such_metric' })
    expect(none.inconclusive).toEqual(['the query "gameday_no_such_metric" returned no data: nothing to judge'])
    await expect(oneShot({ query: 'sum(rate(' })).rejects.toThrow(/prometheus refused the query "sum\(rate\(": bad_data: .*parse error/)
  })

  it('through the method: an SLO in Prometheus judged over the whole window — the breaker opened while Redis was slow', async () => {
    const r = await whileRedisIsSlow(system, server)
    console.log(`prometheus, correct breaker: ${JSON.stringify(r.metrics)}`)
    expect(holds(r, 'max >= 1')).toBe(true)
    expect(r.metrics.samples).toBeGreaterThan(5)
    expect(r.series!.some((s) => s.value === 1)).toBe(true)
  }, 60_000)
})

describe('prometheus probe: the same SLO FAILS on a breaker that never opens', () => {
  let system: BreakerSystem
  let server: PrometheusServer
  beforeAll(async () => {
    system = await startBreakerSystem({ taskEnv: { BREAKER_EVENTS: 'off', GAMEDAY_BROKEN: 'long-breaker-timeout' } })
    server = await startPrometheus(system.metricsTargets)
    await server.targetsUp()
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
    await system?.stop()
  })

  it('GAMEDAY_BROKEN=long-breaker-timeout: the state stays closed, max >= 1 fails', async () => {
    const r = await whileRedisIsSlow(system, server)
    console.log(`prometheus, long breaker timeout: ${JSON.stringify(r.metrics)}`)
    expect(r.metrics).toMatchObject({ max: 0 })
    expect(holds(r, 'max >= 1')).toBe(false)
  }, 60_000)
})

/** The probe through the method: calls through the gateway, Redis slowed by 500 ms for 3 s. */
async function whileRedisIsSlow(system: BreakerSystem, server: PrometheusServer): Promise<ProbeResult> {
  const url = server.url
  const ctx = probeContext(system.env, 'slo')
  const probe = await prometheus.create(
    ctx,
    prometheus.params.parse({ url, query: 'max(gameday_breaker_state{breaker="ai-integration-redis"})', step: '250ms', settle: '1s' }),
  )
  let calling = true
  const calls = (async () => {
    while (calling)
      await Promise.all(
        Array.from({ length: 4 }, (_, i) => http(`${system.gateway.url}/v1/ai/recommend`, { method: 'POST', json: { playerId: `p${i}-${Date.now()}` } })),
      )
  })()
  try {
    await probe.start!()
    await system.throttle(500)
    await sleep(3_000)
    await system.unthrottle()
    await waitFor('the live value polled', async () => probe.snapshot!().value !== undefined, { timeoutMs: 5_000, intervalMs: 100 })
    return await probe.stop!()
  } finally {
    calling = false
    await calls
    await probe.close?.()
    ctx.cleanup()
  }
}
