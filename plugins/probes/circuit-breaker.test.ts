/**
 * The circuit-breaker probe against real processes: the gateway and two ai-integration tasks,
 * Redis slowed by 500 ms through the fault proxy for 5 s. Black-box (the caller's side, the
 * breaker events switched off in the service) with the Prometheus /metrics source; the default
 * NATS events source; and a breaker whose timeout exceeds the added latency, which must fail.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { circuitBreaker } from './circuit-breaker.ts'
import type { ProbeResult } from '../../src/api/index.ts'
import { sleep } from '../../src/util/abort.ts'
import { startBreakerSystem, type BreakerSystem } from '../../test/correctness/breaker-system.ts'
import { probeContext } from '../../test/correctness/support.ts'

let system: BreakerSystem | undefined
afterEach(async () => {
  await system?.stop()
  system = undefined
})

/** The probe through a throttle of Redis: 1.5 s of normal load, 5 s at +500 ms, then until it settles. */
async function throughThrottle(s: BreakerSystem, params: Record<string, unknown>): Promise<ProbeResult> {
  const ctx = probeContext(s.env, 'breaker')
  const probe = await circuitBreaker.create(ctx, circuitBreaker.params.parse({ rate: 40, closeTimeout: '15s', ...params }))
  try {
    await probe.start!()
    await sleep(1_500)
    await s.throttle(500)
    ctx.emitFault({ kind: 'injected', faultId: 'f1', type: 'redis.throttle' })
    await sleep(5_000)
    await s.unthrottle()
    ctx.emitFault({ kind: 'reverted', faultId: 'f1', type: 'redis.throttle' })
    return await probe.stop!()
  } finally {
    await probe.close?.()
    ctx.cleanup()
  }
}

const metrics = (urls: string[]) => ({
  prometheus: { urls, metric: 'gameday_breaker_state', labels: { breaker: 'ai-integration-redis' }, instance: 'task', interval: '200ms' },
})

describe('circuit-breaker probe against the reference ai-integration service', () => {
  it('black-box, the breaker events switched off: calls fail fast within the bound, fast, and normal answers return; /metrics shows both breakers open and close', async () => {
    system = await startBreakerSystem({ taskEnv: { BREAKER_EVENTS: 'off' } })
    const r = await throughThrottle(system, { degraded: { json: '/degraded' }, servedBy: { json: '/servedBy' }, source: metrics(system.metricsUrls) })
    console.log(`black-box, correct breaker: ${JSON.stringify(r.metrics)}`)
    expect(r.metrics.failFastWithinMs).toBeLessThan(3_000)
    expect(r.metrics.failFastP90).toBeLessThan(100)
    expect(r.metrics.recoveredWithinMs).toBeLessThan(5_000)
    expect(r.metrics.overBudget).toBe(0)
    expect(r.inconclusive).toEqual([])
    // the white-box view from Prometheus text agrees
    expect(r.metrics).toMatchObject({ tasksOpened: 2, stuckOpen: 0 })
    expect(r.metrics.opensWithinMs).toBeLessThan(3_000)
    expect(r.metrics.answeredWhileOpen).toBeGreaterThan(50)
    expect(system.tasks.every((t) => t.logs.find((l) => l.event === 'ready')!.breakerEvents === false)).toBe(true)
    const timeline = (r.details as { timeline: { event: string }[] }).timeline.map((e) => e.event)
    expect(timeline.indexOf('fault redis.throttle injected')).toBeLessThan(timeline.indexOf('calls fail fast'))
    expect(timeline.indexOf('fault redis.throttle reverted')).toBeLessThan(timeline.indexOf('normal answers again'))
    expect(r.series!.some((s) => s.fastFail > 30)).toBe(true)
  }, 60_000)

  it('white-box from the default source, the NATS state events', async () => {
    system = await startBreakerSystem()
    const r = await throughThrottle(system, { degraded: { json: '/degraded' }, servedBy: { json: '/servedBy' } })
    expect(r.metrics).toMatchObject({ tasksOpened: 2, stuckOpen: 0 })
    expect(r.metrics.closesWithinMs).toBeLessThan(5_000)
    expect(r.metrics.failFastWithinMs).toBeLessThan(3_000)
  }, 60_000)

  it('FAILS a breaker whose timeout exceeds the added latency (GAMEDAY_BROKEN=long-breaker-timeout): calls never fail fast, they wait', async () => {
    system = await startBreakerSystem({ taskEnv: { BREAKER_EVENTS: 'off', GAMEDAY_BROKEN: 'long-breaker-timeout' } })
    const r = await throughThrottle(system, { degraded: { json: '/degraded' }, source: metrics(system.metricsUrls) })
    console.log(`black-box, long breaker timeout: ${JSON.stringify(r.metrics)}`)
    expect(r.metrics.failFastWithinMs).toBeNaN()
    expect(r.metrics.overBudget).toBeGreaterThan(0)
    expect(r.metrics).toMatchObject({ opens: 0, tasksOpened: 0 })
  }, 60_000)

  it('inconclusive when no fault was injected while it ran', async () => {
    system = await startBreakerSystem({ instances: 1 })
    const ctx = probeContext(system.env, 'breaker')
    const probe = await circuitBreaker.create(ctx, circuitBreaker.params.parse({ rate: 20, source: 'none' }))
    try {
      await probe.start!()
      await sleep(500)
      const r = await probe.stop!()
      expect(r.inconclusive).toEqual(['no fault was injected while the probe ran: nothing put the breaker to the test'])
      expect(r.metrics.failFastWithinMs).toBeNaN()
      expect(r.metrics.requests).toBeGreaterThan(5)
    } finally {
      await probe.close?.()
      ctx.cleanup()
    }
  }, 30_000)
})
