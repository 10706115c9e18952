/**
 * ai-integration: `ai-integration.recommend` → item recommendations cached in Redis
 * (GET, and on a miss compute + SET with a TTL), called through an opossum circuit breaker.
 * When Redis fails or is slow, or the breaker is open, the answer is a static fallback
 * flagged `degraded: true`, returned at once.
 *
 * The breaker's state is visible three ways:
 *   1. `$SRV.STATS.ai-integration`: every endpoint's `data` is
 *      `{ breaker: "closed"|"open"|"half-open", opens, closes, halfOpens, rejects, fallbacks, … }`
 *   2. core NATS messages on `gameday.breaker.ai-integration`, JSON `{ task, state, at }`
 *      (epoch ms), one per state change
 *   3. a log line `{"event":"breaker","state":…}`
 *
 *   4. Prometheus text on `METRICS_PORT` (`GET /metrics`, see lib/metrics.ts):
 *      `gameday_breaker_state{breaker="ai-integration-redis"}` 0 closed, 1 open, 2 half-open, and
 *      `gameday_breaker_calls_total{breaker, result}` (success, failure, timeout, reject, fallback)
 *
 * Options (env): BREAKER_TIMEOUT_MS 200, BREAKER_ERROR_PERCENT 50, BREAKER_RESET_MS 2000,
 * BREAKER_VOLUME 5, BREAKER_WINDOW_MS 5000, CACHE_TTL_S 60, BREAKER_EVENTS on (off: no NATS
 * state events, so a probe must judge the breaker from outside or from /metrics).
 * GAMEDAY_BROKEN=no-breaker: the error threshold is unreachable, so the breaker never opens
 * (every call still waits for Redis to fail or time out). GAMEDAY_BROKEN=long-breaker-timeout:
 * the breaker's timeout (and Redis's command timeout) is 5 s, longer than any latency a throttle
 * adds, so slow calls succeed slowly and the breaker never opens. GAMEDAY_BROKEN=ack-without-store:
 * the cache is never written (every answer is computed).
 */
import { create } from '@bufbuild/protobuf'
import { createHash } from 'node:crypto'
import CircuitBreaker from 'opossum'
import { Counter, Gauge } from 'prom-client'
import { RecommendRequestSchema, RecommendResponseSchema } from '../../gen/gameday/v1/ai_integration_pb.ts'
import { endpoint, runService } from '../lib/service.ts'
import { badRequest, checkPlayerId } from '../lib/errors.ts'
import { intFromEnv } from '../lib/env.ts'
import { serveMetrics } from '../lib/metrics.ts'
import { createRedis } from '../lib/redis.ts'

export const BREAKER_SUBJECT = 'gameday.breaker.ai-integration'
export type BreakerState = 'closed' | 'open' | 'half-open'
/** the value of `gameday_breaker_state` for each state */
export const BREAKER_STATE_VALUES: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2 }
/** a timeout no throttle in the shipped experiments reaches (GAMEDAY_BROKEN=long-breaker-timeout) */
const LONG_BREAKER_TIMEOUT_MS = 5_000

const CATALOG = ['sword-01', 'shield-02', 'potion-03', 'gem-04', 'arrow-05', 'map-06', 'bow-07', 'helm-08']
const FALLBACK_ITEMS = ['potion-03', 'arrow-05', 'map-06']

function computeRecommendation(playerId: string, context: string): string[] {
  const digest = createHash('sha256').update(`${playerId}/${context}`).digest()
  return [0, 1, 2].map((i) => CATALOG[digest[i]! % CATALOG.length]!)
}

await runService({
  name: 'ai-integration',
  version: '1.0.0',
  description: 'Recommendations from a Redis cache behind a circuit breaker',
  async setup({ env, log, nc }) {
    if (!env.redisUrl) throw new Error('ai-integration needs REDIS_URL')
    const options = {
      timeout: intFromEnv(env.raw, 'BREAKER_TIMEOUT_MS', 200),
      errorThresholdPercentage: intFromEnv(env.raw, 'BREAKER_ERROR_PERCENT', 50),
      resetTimeout: intFromEnv(env.raw, 'BREAKER_RESET_MS', 2_000),
      volumeThreshold: intFromEnv(env.raw, 'BREAKER_VOLUME', 5),
      rollingCountTimeout: intFromEnv(env.raw, 'BREAKER_WINDOW_MS', 5_000),
      rollingCountBuckets: 10,
    }
    // opossum opens when the error rate is strictly above the threshold: 100 can never be exceeded.
    // opossum opens at a 100 % error rate too: only an unreachable volume threshold keeps it shut
    if (env.broken.has('no-breaker')) Object.assign(options, { errorThresholdPercentage: 100, volumeThreshold: Number.MAX_SAFE_INTEGER })
    // a timeout longer than the dependency's added latency: slow calls succeed, slowly, and never trip it
    if (env.broken.has('long-breaker-timeout')) options.timeout = LONG_BREAKER_TIMEOUT_MS
    const eventsOn = (env.raw.BREAKER_EVENTS ?? 'on') !== 'off'
    const ttlSeconds = intFromEnv(env.raw, 'CACHE_TTL_S', 60)
    // GAMEDAY_BROKEN=ack-without-store: answer as if cached, never write the cache
    const skipWrites = env.broken.has('ack-without-store')
    const redis = createRedis(env.redisUrl, log, { commandTimeoutMs: options.timeout, connectTimeoutMs: 500 })

    const fromCache = async (playerId: string, context: string) => {
      const key = `ai:recommendation:${playerId}:${context}`
      const cached = await redis.get(key)
      if (cached !== null) return { items: JSON.parse(cached) as string[], source: 'cache' }
      const items = computeRecommendation(playerId, context)
      if (!skipWrites) await redis.set(key, JSON.stringify(items), 'EX', ttlSeconds)
      return { items, source: 'computed' }
    }
    const breakerName = 'ai-integration-redis'
    const breaker = new CircuitBreaker(fromCache, { ...options, name: breakerName })
    breaker.fallback(() => ({ items: FALLBACK_ITEMS, source: 'fallback' }))

    const metrics = await serveMetrics(env, log)
    const stateGauge = new Gauge({
      name: 'gameday_breaker_state',
      help: 'circuit breaker state: 0 closed, 1 open, 2 half-open',
      labelNames: ['breaker'],
      registers: [metrics.registry],
    })
    stateGauge.set({ breaker: breakerName }, BREAKER_STATE_VALUES.closed)
    const calls = new Counter({
      name: 'gameday_breaker_calls_total',
      help: 'calls through the circuit breaker, by result',
      labelNames: ['breaker', 'result'],
      registers: [metrics.registry],
    })
    for (const result of ['success', 'failure', 'timeout', 'reject', 'fallback']) {
      calls.inc({ breaker: breakerName, result }, 0)
      breaker.on(result as 'success', () => calls.inc({ breaker: breakerName, result }))
    }

    const counters = { opens: 0, closes: 0, halfOpens: 0, rejects: 0, fallbacks: 0, failures: 0, timeouts: 0, successes: 0 }
    const stateOf = (): BreakerState => (breaker.opened ? 'open' : breaker.halfOpen ? 'half-open' : 'closed')
    const changed = (state: BreakerState) => {
      const at = Date.now()
      log('breaker', { state, at, ...counters })
      stateGauge.set({ breaker: breakerName }, BREAKER_STATE_VALUES[state])
      if (!eventsOn) return
      try {
        nc.publish(BREAKER_SUBJECT, JSON.stringify({ task: env.taskId, service: env.service, az: env.az, state, at }))
      } catch (err) {
        log.error('breaker-event-failed', err, { state })
      }
    }
    breaker.on('open', () => {
      counters.opens++
      changed('open')
    })
    breaker.on('halfOpen', () => {
      counters.halfOpens++
      changed('half-open')
    })
    breaker.on('close', () => {
      counters.closes++
      changed('closed')
    })
    breaker.on('reject', () => counters.rejects++)
    breaker.on('fallback', () => counters.fallbacks++)
    breaker.on('failure', () => counters.failures++)
    breaker.on('timeout', () => counters.timeouts++)
    breaker.on('success', () => counters.successes++)

    return {
      readyFields: { breaker: { ...options }, breakerEvents: eventsOn, redis: env.redisUrl, ...(metrics.port ? { metricsPort: metrics.port } : {}) },
      statsData: () => ({ breaker: stateOf(), ...counters, redis: redis.status }),
      release: async () => {
        breaker.shutdown()
        await metrics.close()
        await redis.quit().catch(() => redis.disconnect())
      },
      endpoints: [
        endpoint({
          name: 'recommend',
          input: RecommendRequestSchema,
          output: RecommendResponseSchema,
          async handle(req) {
            const playerId = checkPlayerId(req.playerId)
            const context = req.context || 'default'
            if (context.length > 64) throw badRequest('context longer than 64 characters')
            const answer = await breaker.fire(playerId, context)
            return create(RecommendResponseSchema, {
              playerId,
              items: answer.items,
              source: answer.source,
              degraded: answer.source === 'fallback',
              breaker: stateOf(),
              servedBy: env.taskId,
            })
          },
        }),
      ],
    }
  },
})
