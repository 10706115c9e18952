/**
 * nats-cluster-health: is every node up and healthy, is the route mesh full, does JetStream
 * have a meta leader — and, after a fault is reverted, how long until all of that is true again.
 *
 * One-shot (steady state): waits up to `timeout` for a healthy cluster; `recoveryMs` is how long
 * that took. Continuous (during the method): samples every `interval`, counts meta-leader
 * changes, and measures recovery from each fault revert to the next healthy sample. Each
 * recovery is journalled with the reasons nodes gave for being unhealthy on the way (their
 * /healthz errors, first seen when), so a slow one explains itself in the report.
 */
import { z } from 'zod'
import {
  defineProbe,
  Duration,
  observeCluster,
  sleep,
  sleepUnlessAborted,
  type ClusterView,
  type FaultEvent,
  type Metrics,
  type Probe,
  type SeriesPoint,
} from '../../src/api/index.ts'

const Params = z.strictObject({
  cluster: z.string().default('core'),
  timeout: Duration.prefault('60s').describe('one-shot: how long to wait for a healthy cluster'),
  interval: Duration.prefault('500ms'),
  recoveryTimeout: Duration.prefault('60s').describe('continuous: at stop, how long to keep watching for the recovery after the last revert'),
})
type P = z.infer<typeof Params>

/**
 * One line for the report: each /healthz complaint once, with the nodes that made it and when
 * (seconds after the revert), e.g. `JetStream is not current with the meta leader (n1 +2.7s, n2 +2.7s)`.
 */
export function describeRecovery(outcome: string, reasons: Map<string, number>): string {
  const byError = new Map<string, string[]>()
  for (const [reason, atMs] of reasons) {
    const [who, ...rest] = reason.split(': ')
    const error = rest.length ? rest.join(': ') : who
    byError.set(error, [...(byError.get(error) ?? []), `${rest.length ? `${who} ` : ''}+${(atMs / 1000).toFixed(1)}s`])
  }
  const onTheWay = [...byError].map(([error, seen]) => `${error} (${seen.join(', ')})`).join('; ')
  return onTheWay ? `${outcome}; unhealthy on the way: ${onTheWay}` : outcome
}

function summarize(view: ClusterView) {
  return {
    nodes: view.nodes.length,
    reachable: view.nodes.filter((n) => n.reachable).length,
    healthyNodes: view.nodes.filter((n) => n.healthy).length,
    fullMesh: view.fullMesh,
    metaLeader: view.metaLeader ?? 'none',
    healthy: view.healthy,
  }
}

export const natsClusterHealth = defineProbe<P>({
  type: 'nats-cluster-health',
  description: 'NATS nodes healthy, full route mesh, a JetStream meta leader; time to recover after a fault',
  params: Params,
  metrics: {
    nodes: { unit: 'count', description: 'nodes in the cluster' },
    reachable: { unit: 'count', description: 'nodes whose monitoring port answered' },
    healthyNodes: { unit: 'count', description: 'nodes whose /healthz is ok' },
    fullMesh: { unit: 'boolean', description: 'every node routes to every other' },
    metaLeader: { unit: 'text', description: 'the JetStream meta leader (none: no leader)' },
    healthy: { unit: 'boolean', description: 'every node healthy, full mesh, a meta leader' },
    recoveryMs: { unit: 'ms', description: 'one-shot: until healthy; continuous: longest recovery after a revert' },
    samples: { unit: 'count', description: 'continuous: observations made' },
    healthyRatio: { unit: 'ratio', description: 'continuous: healthy observations / observations' },
    metaLeaderChanges: { unit: 'count', description: 'continuous: times the meta leader changed' },
    longestUnhealthyMs: { unit: 'ms', description: 'continuous: longest stretch unhealthy' },
    unrecovered: { unit: 'boolean', description: 'continuous: not healthy again within recoveryTimeout of the last revert' },
  },
  defaultTolerance: ['healthy == true'],
  async create(ctx, p): Promise<Probe> {
    const interval = p.interval
    let sampling = false
    let loop: Promise<void> | undefined
    let last: ClusterView | undefined
    const series: SeriesPoint[] = []
    const t0 = performance.now()
    let samples = 0
    let healthySamples = 0
    let leaderChanges = 0
    let lastLeader: string | undefined
    let unhealthySince: number | undefined
    let longestUnhealthy = 0
    let revertedAt: number | undefined
    const recoveries: number[] = []
    /** "node: /healthz error" → ms after the revert it was first seen, for the recovery under way */
    let reasons = new Map<string, number>()
    const unhealthyOnTheWay = () => [...reasons].map(([reason, atMs]) => ({ atMs, reason }))
    let unsubscribe = () => {}

    const sample = async () => {
      const view = await observeCluster(ctx.env, p.cluster, Math.max(250, interval))
      const now = performance.now()
      samples++
      last = view
      if (view.metaLeader && lastLeader && view.metaLeader !== lastLeader) {
        leaderChanges++
        ctx.evidence('meta-leader-change', { from: lastLeader, to: view.metaLeader })
      }
      if (view.metaLeader) lastLeader = view.metaLeader
      if (view.healthy) {
        healthySamples++
        if (unhealthySince !== undefined) longestUnhealthy = Math.max(longestUnhealthy, now - unhealthySince)
        unhealthySince = undefined
        if (revertedAt !== undefined) {
          recoveries.push(now - revertedAt)
          const afterRevertMs = Math.round(now - revertedAt)
          ctx.evidence('recovery', {
            afterRevertMs,
            unhealthyOnTheWay: unhealthyOnTheWay(),
            summary: describeRecovery(`healthy ${(afterRevertMs / 1000).toFixed(1)}s after the revert`, reasons),
          })
          revertedAt = undefined
        }
      } else {
        if (unhealthySince === undefined) unhealthySince = now
        if (revertedAt !== undefined) {
          for (const n of view.nodes) {
            if (n.healthy) continue
            const reason = `${n.node}: ${n.reachable ? (n.error ?? 'unhealthy') : 'unreachable'}`
            if (!reasons.has(reason)) reasons.set(reason, Math.round(now - revertedAt))
          }
          if (!view.fullMesh && !reasons.has('routes: mesh not full')) reasons.set('routes: mesh not full', Math.round(now - revertedAt))
        }
      }
      series.push({
        t: Math.round((now - t0) / 100) / 10,
        healthy: view.healthy ? 1 : 0,
        healthyNodes: summarize(view).healthyNodes,
        routesFull: view.fullMesh ? 1 : 0,
      })
    }

    return {
      async run() {
        const start = performance.now()
        const deadline = start + p.timeout
        for (;;) {
          await sample()
          if (last!.healthy || performance.now() > deadline || ctx.signal.aborted) break
          await sleepUnlessAborted(interval, ctx.signal)
        }
        const recoveryMs = last!.healthy ? performance.now() - start : NaN
        ctx.evidence('cluster-view', JSON.parse(JSON.stringify(last)))
        return { metrics: { ...summarize(last!), recoveryMs }, details: JSON.parse(JSON.stringify(last)) }
      },
      async start() {
        unsubscribe = ctx.onFault((e: FaultEvent) => {
          if (e.kind !== 'reverted') return
          revertedAt = performance.now()
          reasons = new Map()
        })
        sampling = true
        loop = (async () => {
          while (sampling) {
            // observeCluster reports unreachable nodes as samples; a throw is a monitoring hiccup and the next sample follows
            await sample().catch(() => {})
            await sleep(interval)
          }
        })()
      },
      snapshot: (): Metrics => (last ? { healthy: last.healthy, healthyNodes: summarize(last).healthyNodes, metaLeader: last.metaLeader ?? 'none' } : {}),
      async stop() {
        // a recovery still under way is what this probe is for: watch it to its end (bounded)
        const until = performance.now() + p.recoveryTimeout
        while (revertedAt !== undefined && performance.now() < until && !ctx.signal.aborted) await sleep(interval)
        sampling = false
        await loop
        unsubscribe()
        if (revertedAt !== undefined) {
          const unrecoveredAfterMs = Math.round(performance.now() - revertedAt)
          ctx.evidence('recovery', {
            unrecoveredAfterMs,
            unhealthyOnTheWay: unhealthyOnTheWay(),
            summary: describeRecovery(`not healthy ${(unrecoveredAfterMs / 1000).toFixed(1)}s after the revert`, reasons),
          })
        }
        if (unhealthySince !== undefined) longestUnhealthy = Math.max(longestUnhealthy, performance.now() - unhealthySince)
        return {
          metrics: {
            ...(last ? summarize(last) : {}),
            samples,
            healthyRatio: samples ? healthySamples / samples : NaN,
            metaLeaderChanges: leaderChanges,
            longestUnhealthyMs: longestUnhealthy,
            recoveryMs: recoveries.length ? Math.max(...recoveries) : 0,
            unrecovered: revertedAt !== undefined,
          },
          series,
        }
      },
    }
  },
})
