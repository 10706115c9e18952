/**
 * What the correctness probes share about the NATS cluster: a client connection that never gives
 * up, and the bounded wait for a healthy cluster before the final read.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { observeCluster, sleep, type ClusterView, type Environment } from '../../../src/api/index.ts'

/**
 * A probe's connection: reconnects forever, and notices a frozen (SIGSTOPped) server in ~4 s
 * through pings instead of the 2 min × 2 default, so it moves to a live node while the fault lasts.
 */
export function connectProbe(env: Environment, cluster: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: env.endpoints.natsServers(cluster),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 2_000,
    maxPingOut: 2,
    waitOnFirstConnect: true,
    ...(env.endpoints.natsOptions?.(cluster) ?? {}),
  })
}

/** Healthy as `observeCluster` says; a single-node "cluster" (tests, a dev server) has no meta group. */
export function clusterHealthy(view: ClusterView): boolean {
  if (view.healthy) return true
  return view.nodes.length === 1 && view.nodes[0].healthy
}

export interface RecoveryWait {
  ok: boolean
  waitedMs: number
  /** what was still missing when the wait gave up */
  missing?: string
}

/**
 * Asks `ready` every 250 ms — undefined: ready; else what is still missing (an error counts as
 * its message) — until it holds or `timeoutMs` has passed. Never throws: the caller reports what
 * was missing.
 */
export async function waitUntilReady(timeoutMs: number, ready: () => Promise<string | undefined>, signal?: AbortSignal): Promise<RecoveryWait> {
  const started = performance.now()
  for (;;) {
    const missing = await ready().catch((err: Error) => err.message)
    if (missing === undefined) return { ok: true, waitedMs: performance.now() - started }
    if (performance.now() - started > timeoutMs || signal?.aborted) return { ok: false, waitedMs: performance.now() - started, missing }
    await sleep(250)
  }
}

/**
 * Waits (bounded) until the cluster is healthy and `ready()` holds (e.g. the stream has a leader).
 * Never throws: the caller reports what was missing.
 */
export function waitForRecovery(
  env: Environment,
  cluster: string,
  timeoutMs: number,
  ready: () => Promise<string | undefined>,
  signal?: AbortSignal,
): Promise<RecoveryWait> {
  return waitUntilReady(
    timeoutMs,
    async () => {
      const view = await observeCluster(env, cluster, 1_000)
      if (clusterHealthy(view)) return ready()
      const bad = view.nodes.filter((n) => !n.healthy).map((n) => `${n.node}${n.error ? ` (${n.error})` : ''}`)
      return bad.length ? `unhealthy nodes: ${bad.join(', ')}` : !view.fullMesh ? 'route mesh incomplete' : 'no JetStream meta leader'
    },
    signal,
  )
}

/** ISO time of a performance.now() instant, given the pair (performance.now(), Date.now()) taken together. */
export function wallClock(origin: { perf: number; epoch: number }, perfMs: number): string {
  return new Date(origin.epoch + (perfMs - origin.perf)).toISOString()
}

export function clockOrigin(): { perf: number; epoch: number } {
  return { perf: performance.now(), epoch: Date.now() }
}
