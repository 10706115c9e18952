/** environments/containers.yaml: the same topology as the local environment, as containers. */
import { z } from 'zod'
import { CacheConfig, checkCaches } from '../redis-config.ts'
import { checkClusters, ClustersSchema } from '../cluster-config.ts'
import { checkServices, ServiceSchema } from '../service-config.ts'

const ImageSet = z.strictObject({
  nats: z.string().describe('a nats-server image whose entrypoint is nats-server (the official `nats` image is)'),
  redis: z.string().describe('a redis image that runs the `redis-server ...` command it is given'),
  node: z.string().describe('a Node.js >= 20 image with `node` on PATH; the services run from the bind-mounted repository'),
})

export const OFFICIAL_IMAGES = { nats: 'nats:2.9', redis: 'redis:7', node: 'node:20' } as const
/** what scripts/build-images.sh (`npm run images`) builds from this machine's own binaries */
export const LOCAL_IMAGES = { nats: 'gameday/nats-server:local', redis: 'gameday/redis-server:local', node: 'gameday/node:local' } as const

export const ImageChoice = z.enum(['auto', 'official', 'local'])

export const ContainersConfigSchema = z
  .strictObject({
    kind: z.literal('containers'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,40}$/)
      .default('gameday')
      .describe('environment id: every container and network carries the label gameday.env=<name> (GAMEDAY_CONTAINERS_ENV overrides)'),
    images: z
      .strictObject({
        use: ImageChoice.default('auto').describe(
          'official | local | auto: per image, the local build when the engine has it, else the official one (GAMEDAY_IMAGES overrides)',
        ),
        official: ImageSet.default(OFFICIAL_IMAGES),
        local: ImageSet.default(LOCAL_IMAGES),
      })
      .default({ use: 'auto', official: OFFICIAL_IMAGES, local: LOCAL_IMAGES }),
    clusters: ClustersSchema,
    caches: z.record(z.string().regex(/^[a-z0-9-]+$/), CacheConfig).default({}),
    services: z.record(z.string().regex(/^[a-z0-9-]+$/), ServiceSchema).default({}),
  })
  .superRefine((c, ctx) => {
    checkClusters(c.clusters, ctx)
    checkCaches(c.caches, [...new Set(Object.values(c.clusters).flatMap((cl) => cl.nodes.map((n) => n.az)))].sort(), ctx)
    checkServices('containers', c.services, c.caches, ctx)
  })

export type ContainersConfig = z.infer<typeof ContainersConfigSchema>
export type ImageName = keyof z.infer<typeof ImageSet>
