/**
 * Faults between the services and a Redis cache: throttle the link (latency, jitter,
 * bandwidth), take it down (connections refused), or kill the server. Locally and on
 * containers they are toxics on the fault proxy; on AWS, FIS actions on the services' tasks.
 */
import { z } from 'zod'
import {
  Duration,
  TargetError,
  UnsupportedError,
  defineFault,
  type Environment,
  type FaultContext,
  type Json,
  type ResolvedTarget,
  type TargetSelector,
} from '../../src/api/index.ts'

function cacheOf(ctx: FaultContext, target: TargetSelector): string {
  const caches = Object.keys(ctx.env.topology().caches)
  if (target.cache) {
    if (!caches.includes(target.cache)) throw new TargetError(`no cache "${target.cache}" in ${ctx.env.source} (has: ${caches.join(', ') || 'none'})`)
    return target.cache
  }
  if (caches.length === 1) return caches[0]
  throw new TargetError(`name the cache: target: { cache: ... } (has: ${caches.join(', ') || 'none'})`)
}

function network(env: Environment) {
  if (!env.network) throw new UnsupportedError(`the ${env.kind} environment cannot degrade a cache link`)
  return env.network
}

const cacheTarget = (cache: string, services?: string[]): ResolvedTarget => ({ kind: 'cache', id: cache, ...(services ? { services } : {}) })

const ThrottleParams = z
  .strictObject({
    latency: Duration.optional().describe('added round-trip latency to Redis'),
    jitter: Duration.optional(),
    rate: z.number().positive().optional().describe('bandwidth cap in KB/s'),
    services: z.array(z.string()).optional().describe('only these services’ links (default: all that use the cache)'),
  })
  .refine((p) => p.latency !== undefined || p.rate !== undefined, { message: 'give latency and/or rate' })

type Degraded = { cache: string; revert: Json }

/** the run died before degradeCache() returned: `{}` asks the environment to restore whatever this run may have degraded */
const degradedFromTargets = (targets: ResolvedTarget[]): Degraded => ({ cache: targets[0]?.id ?? '', revert: {} })

export const redisThrottle = defineFault<z.infer<typeof ThrottleParams>, Degraded>({
  type: 'redis.throttle',
  description: 'slow the link between services and Redis: added latency (± jitter) and/or a bandwidth cap',
  targets: ['cache'],
  params: ThrottleParams,
  resolve: async (ctx, spec) => [cacheTarget(cacheOf(ctx, spec.target), spec.params.services)],
  describe: (ctx, spec, targets) =>
    network(ctx.env).describeCacheDegradation({
      cache: targets[0].id,
      ...(spec.params.latency !== undefined ? { latencyMs: spec.params.latency } : {}),
      ...(spec.params.jitter !== undefined ? { jitterMs: spec.params.jitter } : {}),
      ...(spec.params.rate !== undefined ? { rateKBps: spec.params.rate } : {}),
      ...(spec.params.services ? { services: spec.params.services } : {}),
      ...(spec.durationMs ? { durationMs: spec.durationMs } : {}),
    }),
  stateFromTargets: degradedFromTargets,
  async inject(ctx, spec, targets) {
    const cache = targets[0].id
    const revert = await network(ctx.env).degradeCache(
      {
        cache,
        ...(spec.params.latency !== undefined ? { latencyMs: spec.params.latency } : {}),
        ...(spec.params.jitter !== undefined ? { jitterMs: spec.params.jitter } : {}),
        ...(spec.params.rate !== undefined ? { rateKBps: spec.params.rate } : {}),
        ...(spec.params.services ? { services: spec.params.services } : {}),
        ...(spec.durationMs ? { durationMs: spec.durationMs } : {}),
      },
      { runId: ctx.runId, log: ctx.log, signal: ctx.signal },
    )
    return { cache, revert }
  },
  revert: async (ctx, _spec, state) => {
    if (state) await network(ctx.env).restoreCache(state.revert, { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
  },
})

const DownParams = z.strictObject({ services: z.array(z.string()).optional() })

export const redisDown = defineFault<z.infer<typeof DownParams>, Degraded>({
  type: 'redis.down',
  description: 'Redis unreachable from the services: connections refused and open ones dropped',
  targets: ['cache'],
  params: DownParams,
  resolve: async (ctx, spec) => [cacheTarget(cacheOf(ctx, spec.target), spec.params.services)],
  describe: (ctx, spec, targets) =>
    network(ctx.env).describeCacheDegradation({
      cache: targets[0].id,
      down: true,
      ...(spec.params.services ? { services: spec.params.services } : {}),
      ...(spec.durationMs ? { durationMs: spec.durationMs } : {}),
    }),
  stateFromTargets: degradedFromTargets,
  async inject(ctx, spec, targets) {
    const cache = targets[0].id
    const revert = await network(ctx.env).degradeCache(
      { cache, down: true, ...(spec.params.services ? { services: spec.params.services } : {}), ...(spec.durationMs ? { durationMs: spec.durationMs } : {}) },
      { runId: ctx.runId, log: ctx.log, signal: ctx.signal },
    )
    return { cache, revert }
  },
  revert: async (ctx, _spec, state) => {
    if (state) await network(ctx.env).restoreCache(state.revert, { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
  },
})

export const redisKill = defineFault<Record<string, never>, { cache: string }>({
  type: 'redis.kill',
  description: 'kill the Redis server (SIGKILL / docker kill); started again, empty, on revert',
  targets: ['cache'],
  params: z.strictObject({}),
  resolve: async (ctx, spec) => {
    if (!ctx.env.caches)
      throw new UnsupportedError(
        `the ${ctx.env.kind} environment cannot kill a cache server (on aws: redis.failover promotes a replica, redis.az-power powers off an AZ)`,
      )
    return [cacheTarget(cacheOf(ctx, spec.target))]
  },
  describe: (_ctx, _spec, targets) => [`kill redis ${targets[0].id}`, `start redis ${targets[0].id} (on revert)`],
  stateFromTargets: (targets) => ({ cache: targets[0].id }),
  async inject(ctx, _spec, targets) {
    await ctx.env.caches!.kill(targets[0].id)
    return { cache: targets[0].id }
  },
  revert: async (ctx, _spec, state) => {
    if (state && !(await ctx.env.caches!.isRunning(state.cache))) await ctx.env.caches!.start(state.cache)
  },
})
