/**
 * Faults between the services and a Redis cache: throttle the link (latency, jitter,
 * bandwidth), take it down (connections refused), or kill the server. Locally and on
 * containers they are toxics on the fault proxy; on AWS, FIS actions on the services' tasks.
 */
import { z } from 'zod'
import {
  cacheOf,
  Duration,
  UnsupportedError,
  defineFault,
  type CacheDegradation,
  type Environment,
  type FaultSpec,
  type FaultType,
  type Json,
  type ResolvedTarget,
} from '../../src/api/index.ts'

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

/**
 * resolve … revert of a fault that degrades the link to a cache: redis.throttle and redis.down
 * differ only in what they ask of it (`asked`); the services and the step's duration go along.
 */
function degradingCacheLink<P extends { services?: string[] }>(
  asked: (params: P) => Omit<CacheDegradation, 'cache' | 'services' | 'durationMs'>,
): Pick<FaultType<P, Degraded>, 'resolve' | 'describe' | 'stateFromTargets' | 'inject' | 'revert'> {
  const degradation = (cache: string, spec: FaultSpec<P>): CacheDegradation => ({
    cache,
    ...asked(spec.params),
    ...(spec.params.services ? { services: spec.params.services } : {}),
    ...(spec.durationMs ? { durationMs: spec.durationMs } : {}),
  })
  return {
    resolve: async (ctx, spec) => [cacheTarget(cacheOf(ctx, spec.target), spec.params.services)],
    describe: (ctx, spec, targets) => network(ctx.env).describeCacheDegradation(degradation(targets[0].id, spec)),
    /** the run died before degradeCache() returned: `{}` asks the environment to restore whatever this run may have degraded */
    stateFromTargets: (targets) => ({ cache: targets[0]?.id ?? '', revert: {} }),
    async inject(ctx, spec, targets) {
      const cache = targets[0].id
      const revert = await network(ctx.env).degradeCache(degradation(cache, spec), { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
      return { cache, revert }
    },
    revert: async (ctx, _spec, state) => {
      if (state) await network(ctx.env).restoreCache(state.revert, { runId: ctx.runId, log: ctx.log, signal: ctx.signal })
    },
  }
}

export const redisThrottle = defineFault<z.infer<typeof ThrottleParams>, Degraded>({
  type: 'redis.throttle',
  description: 'slow the link between services and Redis: added latency (± jitter) and/or a bandwidth cap',
  targets: ['cache'],
  params: ThrottleParams,
  ...degradingCacheLink((p) => ({
    ...(p.latency !== undefined ? { latencyMs: p.latency } : {}),
    ...(p.jitter !== undefined ? { jitterMs: p.jitter } : {}),
    ...(p.rate !== undefined ? { rateKBps: p.rate } : {}),
  })),
})

const DownParams = z.strictObject({ services: z.array(z.string()).optional() })

export const redisDown = defineFault<z.infer<typeof DownParams>, Degraded>({
  type: 'redis.down',
  description: 'Redis unreachable from the services: connections refused and open ones dropped',
  targets: ['cache'],
  params: DownParams,
  ...degradingCacheLink(() => ({ down: true })),
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
