/**
 * stream-config: are the system's streams and KV buckets configured the way losing a server or
 * an AZ needs them to be? A steady-state audit against a policy — replicas, placement over AZs,
 * storage, duplicate window, limits — read through the JetStream API (the probe's account) or
 * the servers' /jsz (every account). It changes nothing.
 *
 *   steadyState:
 *     probes:
 *       - name: events-config
 *         probe: stream-config
 *         with:
 *           streams: [EVENTS]
 *           buckets: [player-state]
 *           policy: { replicas: 3, survivesAzLoss: true, storage: file, duplicateWindow: 2m, limits: { bounded: true } }
 *         tolerance: ["nonCompliant == 0"]
 *
 * Every finding names the stream, the rule, what the policy wants and what the stream has. A
 * selection that matched nothing audited nothing: the verdict is inconclusive.
 */
import { z } from 'zod'
import { jetstreamManager, type StreamConfig } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { defineProbe, Duration, fetchJson, GamedayError, type Environment, type Json, type Metrics, type Probe } from '../../src/api/index.ts'

const LIMITS = ['maxAge', 'maxBytes', 'maxMsgs', 'maxMsgsPerSubject'] as const
type Limit = (typeof LIMITS)[number]

const Policy = z.strictObject({
  replicas: z.int().min(1).max(5).optional().describe('at least this many replicas'),
  survivesAzLoss: z.boolean().optional().describe('losing any one AZ leaves a quorum of replicas (no AZ holds a majority of them)'),
  minAzs: z.int().min(1).optional().describe('replicas spread over at least this many AZs'),
  storage: z.enum(['file', 'memory']).optional(),
  duplicateWindow: Duration.optional().describe('at least this duplicate window (Nats-Msg-Id deduplication)'),
  discard: z.enum(['old', 'new']).optional(),
  limits: z
    .strictObject({
      bounded: z.boolean().optional().describe('at least one of max age, bytes, messages is set: the stream cannot grow without end'),
      require: z.array(z.enum(LIMITS)).optional().describe('each of these limits is set'),
    })
    .optional(),
})
export type StreamPolicy = z.infer<typeof Policy>

const Params = z.strictObject({
  cluster: z.string().default('core'),
  streams: z.array(z.string().min(1)).optional().describe('stream names to audit (`*` matches any run of characters); default: every stream'),
  buckets: z.array(z.string().min(1)).optional().describe('KV buckets to audit (their streams are KV_<bucket>); default: every bucket'),
  via: z.enum(['api', 'monitor']).default('api').describe("api: the JetStream API in the probe's account; monitor: every node's /jsz, every account"),
  policy: Policy,
  timeout: Duration.prefault('10s').describe('how long reading the streams may take'),
})
type P = z.infer<typeof Params>

/** What the audit needs of one stream, whichever way it was read. */
export interface StreamFacts {
  name: string
  account?: string
  config: Pick<StreamConfig, 'num_replicas' | 'storage' | 'duplicate_window' | 'discard' | 'max_age' | 'max_bytes' | 'max_msgs' | 'max_msgs_per_subject'>
  /** the servers holding a replica (leader first), when known */
  peers?: string[]
}

export interface Finding {
  stream: string
  rule: string
  wants: string
  has: string
}

const NS_PER_MS = 1_000_000

function limitSet(config: StreamFacts['config'], limit: Limit): boolean {
  const value = { maxAge: config.max_age, maxBytes: config.max_bytes, maxMsgs: config.max_msgs, maxMsgsPerSubject: config.max_msgs_per_subject }[limit]
  return value !== undefined && value > 0
}

/** The findings for one stream against the policy; `azOf` places a server in its AZ. */
export function auditStream(s: StreamFacts, policy: StreamPolicy, azOf: (server: string) => string | undefined): Finding[] {
  const out: Finding[] = []
  const find = (rule: string, wants: string, has: string) => out.push({ stream: s.name, rule, wants, has })
  const c = s.config
  if (policy.replicas !== undefined && c.num_replicas < policy.replicas) find('replicas', `at least ${policy.replicas}`, String(c.num_replicas))
  if (policy.survivesAzLoss || policy.minAzs !== undefined) {
    const azs = (s.peers ?? []).map((peer) => azOf(peer))
    if (!s.peers?.length || azs.some((az) => az === undefined)) {
      const unknown = (s.peers ?? []).filter((peer) => azOf(peer) === undefined)
      find('placement', 'replicas on servers of known AZs', s.peers?.length ? `servers not in the topology: ${unknown.join(', ')}` : 'no placement reported')
    } else {
      const perAz = new Map<string, number>()
      for (const az of azs as string[]) perAz.set(az, (perAz.get(az) ?? 0) + 1)
      const spread = [...perAz.entries()].map(([az, n]) => `${az}: ${n}`).join(', ')
      if (policy.minAzs !== undefined && perAz.size < policy.minAzs) find('minAzs', `replicas over at least ${policy.minAzs} AZs`, spread)
      const quorum = Math.floor(azs.length / 2) + 1
      const fatal = [...perAz.entries()].filter(([, n]) => azs.length - n < quorum).map(([az]) => az)
      if (policy.survivesAzLoss && fatal.length)
        find('survivesAzLoss', 'a quorum of replicas outside any one AZ', `losing ${fatal.join(' or ')} loses the quorum (${spread})`)
    }
  }
  if (policy.storage !== undefined && c.storage !== policy.storage) find('storage', policy.storage, String(c.storage))
  if (policy.duplicateWindow !== undefined && (c.duplicate_window ?? 0) / NS_PER_MS < policy.duplicateWindow)
    find('duplicateWindow', `at least ${policy.duplicateWindow}ms`, `${(c.duplicate_window ?? 0) / NS_PER_MS}ms`)
  if (policy.discard !== undefined && c.discard !== policy.discard) find('discard', policy.discard, String(c.discard))
  if (policy.limits?.bounded && !LIMITS.slice(0, 3).some((l) => limitSet(c, l))) find('limits.bounded', 'a max age, bytes or messages', 'unbounded')
  for (const l of policy.limits?.require ?? []) if (!limitSet(c, l)) find(`limits.${l}`, `${l} set`, 'unlimited')
  return out
}

function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`)
  return re.test(name)
}

/** Which streams the selection names, and which named ones are missing. */
export function selectStreams(all: StreamFacts[], p: Pick<P, 'streams' | 'buckets'>): { chosen: StreamFacts[]; missing: string[] } {
  const everything = p.streams === undefined && p.buckets === undefined
  const wanted = [...(p.streams ?? []), ...(p.buckets ?? []).map((b) => `KV_${b}`)]
  const chosen = everything ? all : all.filter((s) => wanted.some((w) => globMatches(w, s.name)))
  const missing = wanted.filter((w) => !w.includes('*') && !all.some((s) => s.name === w))
  return { chosen, missing }
}

async function readViaApi(env: Environment, cluster: string, timeoutMs: number): Promise<StreamFacts[]> {
  const nc = await connect({ servers: env.endpoints.natsServers(cluster), name: 'gameday-stream-config', ...(env.endpoints.natsOptions?.(cluster) ?? {}) })
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs, checkAPI: false })
    const out: StreamFacts[] = []
    for await (const info of jsm.streams.list()) {
      const leader = info.cluster?.leader
      // a standalone server reports no cluster: the one replica is on the server it answered from
      const peers = leader ? [leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)] : nc.info?.server_name ? [nc.info.server_name] : undefined
      out.push({ name: info.config.name, config: info.config, ...(peers ? { peers } : {}) })
    }
    return out
  } finally {
    // read-only: a connection that will not close cleanly has nothing left to lose
    await nc.close().catch(() => {})
  }
}

interface JszStreams {
  account_details?: { name: string; stream_detail?: { name: string; config?: StreamConfig; cluster?: { leader?: string; replicas?: { name: string }[] } }[] }[]
}

async function readViaMonitor(env: Environment, cluster: string, timeoutMs: number): Promise<StreamFacts[]> {
  const byKey = new Map<string, StreamFacts>()
  const errors: string[] = []
  for (const node of env.topology().clusters[cluster]?.nodes ?? []) {
    try {
      const jsz = await fetchJson<JszStreams>(`${env.endpoints.natsMonitor(cluster, node.name)}/jsz?accounts=true&streams=true&config=true`, timeoutMs)
      for (const account of jsz.account_details ?? [])
        for (const d of account.stream_detail ?? []) {
          if (!d.config) continue
          const key = `${account.name}/${d.name}`
          const peers = d.cluster?.leader ? [d.cluster.leader, ...(d.cluster.replicas ?? []).map((r) => r.name)] : undefined
          // each node reports the streams it holds: keep the report that knows the leader
          if (!byKey.has(key) || (peers && !byKey.get(key)!.peers))
            byKey.set(key, { name: d.name, account: account.name, config: d.config, ...(peers ? { peers } : {}) })
        }
    } catch (err) {
      errors.push(`${node.name}: ${(err as Error).message}`)
    }
  }
  if (!byKey.size && errors.length) throw new GamedayError(`no node's /jsz answered: ${errors.join('; ')}`)
  return [...byKey.values()]
}

export const streamConfig = defineProbe<P>({
  type: 'stream-config',
  description: "audits the system's JetStream streams and KV buckets against a policy: replicas, placement over AZs, storage, duplicate window, limits",
  params: Params,
  metrics: {
    audited: { unit: 'count', description: 'streams and buckets audited' },
    nonCompliant: { unit: 'count', description: 'audited streams with at least one finding, plus named ones that do not exist' },
    findings: { unit: 'count', description: 'policy rules broken, over every stream' },
    missing: { unit: 'count', description: 'named streams or buckets that do not exist' },
    fewestReplicas: { unit: 'count', description: 'the fewest replicas of any audited stream' },
    fewestAzs: { unit: 'count', description: 'the fewest AZs any audited stream spreads over (NaN: placement unknown)' },
  },
  defaultTolerance: ['nonCompliant == 0'],
  async create(ctx, p): Promise<Probe> {
    const azByServer = new Map((ctx.env.topology().clusters[p.cluster]?.nodes ?? []).map((n) => [n.name, n.az]))
    return {
      async run() {
        const all = await (p.via === 'api' ? readViaApi : readViaMonitor)(ctx.env, p.cluster, p.timeout)
        const { chosen, missing } = selectStreams(all, p)
        const findings = chosen.flatMap((s) => auditStream(s, p.policy, (server) => azByServer.get(server)))
        for (const name of missing) findings.push({ stream: name, rule: 'exists', wants: 'the stream exists', has: 'not found' })
        const azCounts = chosen.map((s) => (s.peers?.every((peer) => azByServer.has(peer)) ? new Set(s.peers.map((peer) => azByServer.get(peer))).size : NaN))
        const metrics: Metrics = {
          audited: chosen.length,
          nonCompliant: new Set(findings.map((f) => f.stream)).size,
          findings: findings.length,
          missing: missing.length,
          fewestReplicas: chosen.length ? Math.min(...chosen.map((s) => s.config.num_replicas)) : NaN,
          fewestAzs: azCounts.length ? Math.min(...azCounts) : NaN,
        }
        const details: Json = {
          via: p.via,
          findings: findings.map((f) => `${f.stream}: ${f.rule} — wants ${f.wants}, has ${f.has}`),
          streams: chosen.map((s) => ({
            name: s.name,
            ...(s.account ? { account: s.account } : {}),
            replicas: s.config.num_replicas,
            peers: (s.peers ?? []).map((peer) => `${peer} (${azByServer.get(peer) ?? 'AZ unknown'})`),
            storage: String(s.config.storage),
            duplicateWindowMs: (s.config.duplicate_window ?? 0) / NS_PER_MS,
          })),
        }
        const lines = (details as { findings: string[] }).findings
        if (findings.length) ctx.evidence('stream-config-findings', { summary: lines.join('; '), findings: lines })
        const inconclusive = chosen.length === 0 && missing.length === 0 ? ['no stream matched the selection: nothing was audited'] : []
        return { metrics, details, inconclusive }
      },
    }
  },
})
