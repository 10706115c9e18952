/** environments/local.yaml: the embedded default environment, all on loopback. */
import { resolve } from 'node:path'
import { z } from 'zod'
import { CacheConfig, checkCaches } from '../redis-config.ts'
import { checkClusters, ClustersSchema } from '../cluster-config.ts'
import { checkServices, ServiceSchema, type ServiceConfig } from '../service-config.ts'
import { unsafeStateDir } from './state-dir.ts'

export const LocalConfigSchema = z
  .strictObject({
    kind: z.literal('local'),
    stateDir: z
      .string()
      .min(1)
      .default('.gameday/local')
      .describe(
        'a folder of its own where the environment keeps its state and logs, relative to the folder gameday runs in, your project (never the project itself, home or /)',
      ),
    clusters: ClustersSchema,
    caches: z.record(z.string(), CacheConfig).default({}),
    services: z.record(z.string(), ServiceSchema).default({}),
  })
  .superRefine((c, ctx) => {
    const why = unsafeStateDir(resolve(c.stateDir))
    if (why)
      ctx.addIssue({
        code: 'custom',
        path: ['stateDir'],
        message: `stateDir ${JSON.stringify(c.stateDir)} cannot hold an environment: ${why}, and \`env down\` deletes what it created there; use a folder of its own, e.g. .gameday/local`,
      })
    checkClusters(c.clusters, ctx)
    checkCaches(c.caches, [...new Set(Object.values(c.clusters).flatMap((cl) => cl.nodes.map((n) => n.az)))].sort(), ctx)
    checkServices('local', c.services, c.caches, ctx)
  })

export type LocalConfig = z.infer<typeof LocalConfigSchema>
export type LocalService = ServiceConfig
