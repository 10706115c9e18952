/**
 * Reading a NATS cluster's monitoring endpoints (/healthz /varz /routez /jsz). Used to pick
 * targets by role at the moment of injection, to judge cluster health, and as evidence.
 */
import type { Environment } from '../api/environment.ts'

export async function fetchJson<T>(url: string, timeoutMs = 1000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  if (!res.ok && res.status !== 503) throw new Error(`${url}: HTTP ${res.status}`)
  return (await res.json()) as T
}

export interface Varz {
  server_id: string
  server_name: string
  connections: number
  routes: number
}
export interface Routez {
  num_routes: number
  routes: { remote_id: string; rtt?: string; ip: string; port: number }[]
}
export interface Jsz {
  meta_cluster?: { name?: string; leader?: string; cluster_size?: number; replicas?: { name: string; current: boolean; offline?: boolean; active: number }[] }
  streams?: number
  account_details?: { stream_detail?: { name: string; cluster?: { leader?: string; replicas?: { name: string; current: boolean }[] } }[] }[]
}

export interface NodeView {
  node: string
  reachable: boolean
  healthy: boolean
  serverId?: string
  /** names of the peers this node has a route to */
  routesTo: string[]
  metaLeader?: string
  error?: string
}

export interface ClusterView {
  cluster: string
  nodes: NodeView[]
  /** the meta leader as most reachable nodes see it */
  metaLeader?: string
  fullMesh: boolean
  healthy: boolean
}

/** One consistent look at every node of a cluster. */
export async function observeCluster(env: Environment, cluster: string, timeoutMs = 1000): Promise<ClusterView> {
  const nodes = env.topology().clusters[cluster]?.nodes ?? []
  const raw = await Promise.all(
    nodes.map(async (n) => {
      const base = env.endpoints.natsMonitor(cluster, n.name)
      try {
        const [varz, routez, jsz, health] = await Promise.all([
          fetchJson<Varz>(`${base}/varz`, timeoutMs),
          fetchJson<Routez>(`${base}/routez`, timeoutMs),
          fetchJson<Jsz>(`${base}/jsz`, timeoutMs),
          fetchJson<{ status: string; error?: string }>(`${base}/healthz`, timeoutMs),
        ])
        return { n, varz, routez, jsz, health }
      } catch (err) {
        return { n, error: (err as Error).message }
      }
    }),
  )
  const nameById = new Map<string, string>()
  for (const r of raw) if ('varz' in r && r.varz) nameById.set(r.varz.server_id, r.varz.server_name)
  const views: NodeView[] = raw.map((r) => {
    if (!('varz' in r) || !r.varz) return { node: r.n.name, reachable: false, healthy: false, routesTo: [], error: r.error }
    const routesTo = [...new Set(r.routez!.routes.map((x) => nameById.get(x.remote_id) ?? x.remote_id))].sort()
    return {
      node: r.n.name,
      reachable: true,
      healthy: r.health!.status === 'ok',
      serverId: r.varz.server_id,
      routesTo,
      metaLeader: r.jsz!.meta_cluster?.leader || undefined,
      error: r.health!.error,
    }
  })
  const votes = new Map<string, number>()
  for (const v of views) if (v.metaLeader) votes.set(v.metaLeader, (votes.get(v.metaLeader) ?? 0) + 1)
  const metaLeader = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0]
  const names = nodes.map((n) => n.name)
  const fullMesh = views.every((v) => v.reachable && names.filter((x) => x !== v.node).every((peer) => v.routesTo.includes(peer)))
  return {
    cluster,
    nodes: views,
    metaLeader,
    fullMesh,
    healthy: fullMesh && views.every((v) => v.healthy) && metaLeader !== undefined,
  }
}

export async function findMetaLeader(env: Environment, cluster: string): Promise<string | undefined> {
  return (await observeCluster(env, cluster)).metaLeader
}

/** The leader of a stream's Raft group, as the reachable nodes report it. */
export async function findStreamLeader(env: Environment, cluster: string, stream: string): Promise<string | undefined> {
  for (const n of env.topology().clusters[cluster]?.nodes ?? []) {
    try {
      const jsz = await fetchJson<Jsz>(`${env.endpoints.natsMonitor(cluster, n.name)}/jsz?accounts=true&streams=true`)
      for (const acc of jsz.account_details ?? []) {
        const s = acc.stream_detail?.find((d) => d.name === stream)
        if (s?.cluster?.leader) return s.cluster.leader
      }
    } catch {
      // unreachable node: ask the next
    }
  }
  return undefined
}
