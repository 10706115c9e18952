/**
 * Target selectors: how an experiment names what a fault hits, in logical terms only.
 *
 *   { cluster: core, role: jetstream-meta-leader }
 *   { cluster: core, role: most-clients }             # the server whose loss disconnects the most clients
 *   { cluster: core, az: az-b }                       # every node of an AZ
 *   { cluster: core, count: 2 }                        # two nodes at random (seeded)
 *   { service: ai-integration, percent: 50 }           # half the tasks of a service
 *   { cache: cache }
 *   { cache: cache, key: "player:42" }                 # the Redis Cluster shard owning this key
 *   { cache: cache, az: az-b }                         # the shards whose primary is in az-b
 */
import { z } from 'zod'
import type { TargetKind } from './fault.ts'

/** No selector picks more than this many targets (a bound on input, far above any real cluster). */
export const MAX_TARGET_COUNT = 1000

export const NODE_ROLES = ['jetstream-meta-leader', 'stream-leader', 'most-clients', 'any'] as const

export const TargetSelectorSchema = z
  .strictObject({
    cluster: z.string().optional().describe('a NATS cluster named by the environment, e.g. core'),
    nodes: z.array(z.string()).min(1).optional().describe('node names, e.g. [n1, n2]'),
    az: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('restrict to these AZs'),
    role: z.enum(NODE_ROLES).optional().describe('pick by role at the moment of injection'),
    stream: z.string().optional().describe('the stream whose leader role: stream-leader means'),
    service: z.string().optional().describe('a service whose tasks are targeted'),
    cache: z.string().optional().describe('a Redis cache named by the environment'),
    key: z.string().min(1).optional().describe('a Redis Cluster: the shard owning this key (its hash slot; {tag} honoured)'),
    slot: z.int().min(0).max(16383).optional().describe('a Redis Cluster: the shard owning this hash slot'),
    shard: z.int().positive().optional().describe('a Redis Cluster: shard number (1-based, as the environment numbers them)'),
    count: z.int().positive().max(MAX_TARGET_COUNT).optional().describe('pick this many at random (seeded); never more than there are'),
    percent: z.number().gt(0).lte(100).optional().describe('pick this percentage at random (seeded), rounded up'),
    allowMajority: z
      .literal(true)
      .optional()
      .describe('a node fault may hit more than a minority of a cluster at once (the cluster loses its quorum): refused without this'),
  })
  .superRefine((sel, ctx) => {
    if (sel.role === 'stream-leader' && !sel.stream) {
      ctx.addIssue({ code: 'custom', message: 'role: stream-leader needs `stream`', path: ['stream'] })
    }
    if (sel.count !== undefined && sel.percent !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give either count or percent, not both', path: ['percent'] })
    }
  })
  .describe('what the fault hits, by logical name only (never hosts)')

export type TargetSelector = z.infer<typeof TargetSelectorSchema>

/** The target kinds each selector field names; `az` narrows nodes and tasks, or is the target itself. */
const FIELD_KINDS: Record<string, readonly TargetKind[]> = {
  cluster: ['node', 'az', 'shard'],
  nodes: ['node'],
  role: ['node'],
  stream: ['node'],
  service: ['task'],
  cache: ['cache', 'shard'],
  key: ['shard'],
  slot: ['shard'],
  shard: ['shard'],
  az: ['node', 'task', 'az', 'cache', 'shard'],
}

const KIND_WORDS: Record<TargetKind, string> = {
  node: 'NATS nodes',
  task: "a service's tasks",
  cache: 'a cache',
  az: 'an AZ',
  shard: 'a cache shard',
  other: 'its own targets',
}

/**
 * Why a selector cannot mean what the fault acts on (a service for a node fault), or undefined.
 * Checked at validate: `nats.kill-node` with `{ service: gateway }` must never become "every
 * node of the cluster". A fault acting on `other` things reads the selector its own way.
 */
export function selectorMismatch(faultType: string, kinds: readonly TargetKind[], sel: TargetSelector): { field: string; message: string } | undefined {
  if (kinds.includes('other')) return undefined
  const acts = kinds.map((k) => KIND_WORDS[k]).join(' or ')
  for (const [field, names] of Object.entries(FIELD_KINDS)) {
    if ((sel as Record<string, unknown>)[field] === undefined) continue
    if (!names.some((k) => kinds.includes(k))) {
      return {
        field,
        message: `${faultType} acts on ${acts}; this target names ${field}: ${JSON.stringify((sel as Record<string, unknown>)[field])}, which it does not act on (${hint(kinds)})`,
      }
    }
  }
  if (kinds.length === 1 && kinds[0] === 'task' && sel.service === undefined) {
    return { field: 'service', message: `${faultType} acts on a service's tasks: name the service (target: { service: ... })` }
  }
  if (sel.role === 'stream-leader' && sel.stream === undefined) return { field: 'stream', message: 'role: stream-leader needs `stream`' }
  return undefined
}

function hint(kinds: readonly TargetKind[]): string {
  if (kinds.includes('node')) return 'select nodes with cluster:, nodes:, az:, role:, count: or percent:'
  if (kinds.includes('task')) return 'select tasks with service:, az:, count: or percent:'
  if (kinds.includes('shard')) return 'select the cache with cache: and its shard with key:, slot:, shard: or az:'
  if (kinds.includes('cache')) return 'select the cache with cache:'
  return 'select it with az:'
}

/**
 * A node fault over a whole cluster (no nodes:, az: or role: narrowing it) at 50% or more hits
 * at least half of it, whatever its size: never a minority. Other cases need the cluster's size (plan).
 */
export function majorityByPercent(kinds: readonly TargetKind[], sel: TargetSelector): boolean {
  if (!kinds.includes('node') || sel.allowMajority || sel.percent === undefined || sel.percent < 50) return false
  return sel.nodes === undefined && sel.az === undefined && sel.role === undefined
}
