/**
 * Target selectors: how an experiment names what a fault hits, in logical terms only.
 *
 *   { cluster: core, role: jetstream-meta-leader }
 *   { cluster: core, role: most-clients }             # the server whose loss disconnects the most clients
 *   { cluster: core, az: az-b }                       # every node of an AZ
 *   { cluster: core, count: 2 }                        # two nodes at random (seeded)
 *   { service: ai-integration, percent: 50 }           # half the tasks of a service
 *   { cache: cache }
 */
import { z } from 'zod'

export const NODE_ROLES = ['jetstream-meta-leader', 'stream-leader', 'most-clients', 'any'] as const

export const TargetSelectorSchema = z
  .strictObject({
    cluster: z.string().optional().describe('a NATS cluster named by the environment, e.g. core'),
    nodes: z.array(z.string()).optional().describe('node names, e.g. [n1, n2]'),
    az: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('restrict to these AZs'),
    role: z.enum(NODE_ROLES).optional().describe('pick by role at the moment of injection'),
    stream: z.string().optional().describe('the stream whose leader role: stream-leader means'),
    service: z.string().optional().describe('a service whose tasks are targeted'),
    cache: z.string().optional().describe('a Redis cache named by the environment'),
    count: z.int().positive().optional().describe('pick this many at random (seeded)'),
    percent: z.number().gt(0).lte(100).optional().describe('pick this percentage at random (seeded), rounded up'),
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
