/** environments/local.yaml: the embedded default environment, all on loopback. */
import { z } from 'zod'
import { CacheConfig } from '../redis-config.ts'

const Node = z.strictObject({ name: z.string().regex(/^[a-z0-9-]+$/), az: z.string() })

export const LocalServiceSchema = z.strictObject({
  entry: z.string().describe('the task entry point, relative to the repository root'),
  instances: z.int().positive().default(2),
  /** serves HTTP: gets a PORT and sits behind the environment's load balancer */
  http: z.boolean().default(false),
  caches: z.array(z.string()).default([]).describe('Redis caches this service uses (REDIS_URL)'),
  stopGrace: z.string().default('10s').describe('SIGTERM → SIGKILL grace, like the ECS stop timeout'),
  deregistrationDelay: z
    .string()
    .default('1s')
    .describe('http services: a stopped task leaves the load balancer this long before its SIGTERM, like the target group deregistration delay'),
  env: z.record(z.string(), z.string()).default({}),
})

export const LocalConfigSchema = z.strictObject({
  kind: z.literal('local'),
  stateDir: z.string().default('.gameday/local'),
  clusters: z.record(
    z.string(),
    z.strictObject({
      nodes: z.array(Node).min(1),
      maxMemoryStore: z.string().default('256MB'),
      maxFileStore: z.string().default('2GB'),
    }),
  ),
  caches: z.record(z.string(), CacheConfig).default({}),
  services: z.record(z.string(), LocalServiceSchema).default({}),
})

export type LocalConfig = z.infer<typeof LocalConfigSchema>
export type LocalService = z.infer<typeof LocalServiceSchema>
