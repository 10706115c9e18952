/**
 * The AWS environment file (`environments/aws.example.yaml`): where the game-day deployment
 * lives, how each logical thing an experiment names is found by tags, what a run may touch
 * (allow-list, blast-radius limits) and the alarms that stop FIS experiments.
 *
 * Secrets never live in the file: every secret is `{ fromEnv: NAME }` or `{ fromFile: path }`,
 * resolved when a probe connects. An inline secret is refused at load with its line and column.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path'
import { isMap, LineCounter, parseDocument, type Document } from 'yaml'
import { z } from 'zod'
import { AllowListError, ValidationError } from '../../api/errors.ts'
import { parseDuration } from '../../util/duration.ts'

// ── building blocks ────────────────────────────────────────────────────────────────────────

const INLINE_SECRET = 'inline secrets are not allowed in an environment file: use { fromEnv: NAME } or { fromFile: path }'

/** A secret, by reference only. */
export const SecretRefSchema = z.union(
  [
    z.strictObject({ fromEnv: z.string().min(1).describe('environment variable holding the secret') }),
    z.strictObject({ fromFile: z.string().min(1).describe('file holding the secret (~ expands)') }),
  ],
  { error: (issue) => (typeof issue.input === 'string' ? INLINE_SECRET : 'expected { fromEnv: NAME } or { fromFile: path }') },
)
export type SecretRef = z.infer<typeof SecretRefSchema>

const DurationMs = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
    return z.NEVER
  }
})

const TagMap = z
  .record(z.string().min(1), z.string())
  .refine((tags) => Object.keys(tags).length > 0, 'give at least one tag')
  .describe('tag key → value; a resource must carry all of them')

const AccountId = z.string().regex(/^\d{12}$/, 'an AWS account id is 12 digits (quote it in YAML)')
const Region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1')

const ServiceRef = z.union([
  z
    .string()
    .min(1)
    .transform((name) => ({ name, tags: undefined as Record<string, string> | undefined })),
  z
    .strictObject({ name: z.string().min(1).optional(), tags: TagMap.optional() })
    .refine((s) => !!s.name !== !!s.tags, 'give the ECS service `name` or the `tags` that find it, not both'),
])

const NatsAuthSchema = z.strictObject({
  credentials: SecretRefSchema.optional().describe('a .creds file (JWT + nkey seed)'),
  nkeySeed: SecretRefSchema.optional().describe('an nkey seed (SU...)'),
  user: z.string().optional(),
  password: SecretRefSchema.optional(),
  token: SecretRefSchema.optional(),
})

const TlsSchema = z.strictObject({
  caFile: z.string().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
})

const NatsClusterSchema = z.strictObject({
  instances: z.strictObject({
    tags: TagMap.describe('tags every NATS instance of this cluster carries'),
    nodeTag: z.string().default('gameday:node').describe('tag whose value is the node name (n1..n5)'),
  }),
  /** stop: StopInstances (Force for kill), restarted on revert; terminate: irreversible, revert waits for the replacement */
  killMode: z.enum(['stop', 'terminate']).default('stop'),
  servers: z.array(z.string().min(1)).optional().describe('client URLs; default: nats://<private ip>:<clientPort> per instance'),
  clientPort: z.int().positive().default(4222),
  monitor: z
    .strictObject({
      port: z.int().positive().default(8222),
      scheme: z.enum(['http', 'https']).default('http'),
      address: z.enum(['privateIp', 'privateDns']).default('privateIp'),
    })
    .prefault({}),
  tls: TlsSchema.optional(),
  auth: NatsAuthSchema.optional(),
})

const CacheSchema = z.strictObject({
  replicationGroupId: z.string().min(1),
  /** FIS finds replication groups by tag only (no resource ARNs for this resource type) */
  fisTargetTags: TagMap.optional().describe('tags that select exactly this replication group in FIS (redis.az-power)'),
  host: z.string().optional().describe('default: the replication group primary endpoint'),
  port: z.int().positive().default(6379),
  tls: z.boolean().default(true),
  auth: SecretRefSchema.optional().describe('Redis AUTH token'),
  usedBy: z.array(z.string()).optional().describe('logical services whose links redis.throttle / redis.down degrade by default'),
})

const LimitValues = z.strictObject({
  maxTasks: z.int().positive().optional(),
  maxTaskPercent: z.number().gt(0).lte(100).optional(),
  maxInstances: z.int().positive().optional(),
  maxAzs: z.int().positive().optional(),
  maxShards: z.int().positive().optional(),
})

export const DEFAULT_LIMITS = { maxTasks: 2, maxTaskPercent: 50, maxInstances: 1, maxAzs: 1, maxShards: 1 } as const

const LimitsSchema = z
  .strictObject({
    maxTasks: z.int().positive().default(DEFAULT_LIMITS.maxTasks).describe('tasks one fault may stop'),
    maxTaskPercent: z.number().gt(0).lte(100).default(DEFAULT_LIMITS.maxTaskPercent).describe("percent of a service's live tasks"),
    maxInstances: z.int().positive().default(DEFAULT_LIMITS.maxInstances).describe('EC2 instances one fault may stop'),
    maxAzs: z.int().positive().default(DEFAULT_LIMITS.maxAzs).describe('AZs one fault may cut or power off'),
    maxShards: z.int().positive().default(DEFAULT_LIMITS.maxShards).describe('cache shards (ElastiCache node groups) one fault may fail over'),
    faults: z.record(z.string(), LimitValues).default({}).describe('per fault type overrides'),
  })
  .prefault({})

export const AwsConfigSchema = z
  .strictObject({
    kind: z.literal('aws'),
    name: z.string().default('aws'),
    region: Region,
    accountId: AccountId,
    allow: z.strictObject({
      accounts: z.array(AccountId).min(1),
      regions: z.array(Region).min(1),
      clusters: z.array(z.string().min(1)).min(1).describe('ECS clusters a run may touch'),
      fisTemplates: z.array(z.string().min(1)).default([]).describe('existing FIS templates aws.fis-experiment may start'),
    }),
    azs: z
      .record(z.string().min(1), z.string().min(1))
      .optional()
      .describe('logical AZ name (as experiments write it) → AWS AZ name; default: AWS names are used as they are'),
    fis: z
      .strictObject({
        roleArn: z.string().regex(/^arn:aws[\w-]*:iam::\d{12}:role\/.+/, 'an IAM role ARN'),
        maxDuration: DurationMs.prefault('30m').describe('FIS ends its actions by itself after this, even if gameday dies'),
        logGroupArn: z.string().optional(),
      })
      .optional(),
    stopConditions: z
      .array(z.string().regex(/^arn:aws[\w-]*:cloudwatch:[^:]+:\d{12}:alarm:.+/, 'a CloudWatch alarm ARN'))
      .default([])
      .describe('alarms given to every FIS template as stop conditions'),
    limits: LimitsSchema,
    timeouts: z
      .strictObject({
        instance: DurationMs.prefault('10m'),
        replacement: DurationMs.prefault('15m'),
        taskRecovery: DurationMs.prefault('10m'),
        fisStart: DurationMs.prefault('5m'),
        fisStop: DurationMs.prefault('5m'),
        cacheRecovery: DurationMs.prefault('20m'),
      })
      .prefault({}),
    pollInterval: DurationMs.prefault('5s').describe('the first pause between two polls of an AWS API while waiting; later ones back off (×1.5, ±20%)'),
    maxPollInterval: DurationMs.prefault('15s').describe('the longest pause between two polls'),
    endpoint: z
      .string()
      .url()
      .optional()
      .describe('send every AWS call here instead of the regional endpoints (a VPC endpoint, LocalStack): https, or http on loopback only'),
    ecs: z.strictObject({
      cluster: z.string().min(1),
      services: z.record(z.string().min(1), ServiceRef).default({}),
    }),
    nats: z.record(z.string().min(1), NatsClusterSchema).default({}),
    subnets: z.strictObject({ tags: TagMap.describe('tags of the subnets to isolate; grouped by their AZ') }).optional(),
    caches: z.record(z.string().min(1), CacheSchema).default({}),
    gateway: z
      .strictObject({
        url: z.string().url().describe('http:// or https://'),
        caFile: z.string().optional().describe('the private CA an https:// gateway certificate chains to (~ expands; relative to this file)'),
      })
      .optional(),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.endpoint) {
      const url = new URL(cfg.endpoint)
      const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.startsWith('127.')
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
        ctx.addIssue({
          code: 'custom',
          path: ['endpoint'],
          message: 'an endpoint must be https:// (plain http:// only on loopback): signed AWS calls are not sent in the clear',
        })
      }
    }
    for (const [name, cache] of Object.entries(cfg.caches)) {
      for (const svc of cache.usedBy ?? []) {
        if (!cfg.ecs.services[svc]) {
          ctx.addIssue({ code: 'custom', path: ['caches', name, 'usedBy'], message: `unknown service "${svc}" (not under ecs.services)` })
        }
      }
    }
    const seen = new Map<string, string>()
    for (const [logical, real] of Object.entries(cfg.azs ?? {})) {
      if (seen.has(real)) ctx.addIssue({ code: 'custom', path: ['azs', logical], message: `${real} is already mapped from ${seen.get(real)}` })
      seen.set(real, logical)
      if (!real.startsWith(cfg.region)) ctx.addIssue({ code: 'custom', path: ['azs', logical], message: `${real} is not in region ${cfg.region}` })
    }
  })

export type AwsConfig = z.infer<typeof AwsConfigSchema>
export type NatsClusterConfig = AwsConfig['nats'][string]
export type CacheConfig = AwsConfig['caches'][string]
export type Limits = { maxTasks: number; maxTaskPercent: number; maxInstances: number; maxAzs: number; maxShards: number }

// ── allow-list ─────────────────────────────────────────────────────────────────────────────

/** The static half of the allow-list: what the file itself points at. No call is made. */
export function checkConfigAllowList(cfg: AwsConfig): void {
  const { allow } = cfg
  if (!allow.regions.includes(cfg.region)) throw new AllowListError(`region ${cfg.region} is not in allow.regions [${allow.regions.join(', ')}]`)
  if (!allow.accounts.includes(cfg.accountId)) throw new AllowListError(`account ${cfg.accountId} is not in allow.accounts [${allow.accounts.join(', ')}]`)
  if (!allow.clusters.includes(cfg.ecs.cluster))
    throw new AllowListError(`ECS cluster ${cfg.ecs.cluster} is not in allow.clusters [${allow.clusters.join(', ')}]`)
  const arns = [...cfg.stopConditions, ...(cfg.fis ? [cfg.fis.roleArn] : []), ...(cfg.fis?.logGroupArn ? [cfg.fis.logGroupArn] : [])]
  for (const arn of arns) checkArnAllowed(cfg, arn)
}

/** An ARN's account and region (when it has them) must be allowed. IAM ARNs carry no region. */
export function checkArnAllowed(cfg: AwsConfig, arn: string): void {
  const parts = arn.split(':')
  if (parts[0] !== 'arn' || parts.length < 6) throw new AllowListError(`not an ARN: ${arn}`)
  const [, , , region, account] = parts
  if (region && !cfg.allow.regions.includes(region)) throw new AllowListError(`${arn}: region ${region} is not allowed`)
  if (account && account !== 'aws' && !cfg.allow.accounts.includes(account)) throw new AllowListError(`${arn}: account ${account} is not allowed`)
  if (account && account !== 'aws' && account !== cfg.accountId)
    throw new AllowListError(`${arn}: account ${account} is not this environment's account ${cfg.accountId}`)
}

/** The limits that apply to one fault type: its overrides over the file's defaults. */
export function limitsFor(cfg: AwsConfig, faultType: string): Limits {
  const { faults, ...base } = cfg.limits
  const over = faults[faultType] ?? {}
  return {
    maxTasks: over.maxTasks ?? base.maxTasks,
    maxTaskPercent: over.maxTaskPercent ?? base.maxTaskPercent,
    maxInstances: over.maxInstances ?? base.maxInstances,
    maxAzs: over.maxAzs ?? base.maxAzs,
    maxShards: over.maxShards ?? base.maxShards,
  }
}

// ── loading ────────────────────────────────────────────────────────────────────────────────

const SECRET_KEY = /(password|passwd|secret|token|seed|creds|credentials|auth|accesskey|privatekey|apikey)/i

/** Refuses a string (or number) under any key that names a secret, wherever it is in the file. */
function findInlineSecrets(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  const found: (string | number)[][] = []
  if (Array.isArray(value)) value.forEach((v, i) => found.push(...findInlineSecrets(v, [...path, i])))
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (/tags$/i.test(key)) continue // tag maps name resources, they hold no secrets
      if (SECRET_KEY.test(key) && (typeof v === 'string' || typeof v === 'number') && !/file$/i.test(key)) found.push([...path, key])
      else found.push(...findInlineSecrets(v, [...path, key]))
    }
  }
  return found
}

function locate(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as (string | number)[], true)
    const range = (node as { range?: [number, number, number] } | undefined)?.range
    if (range) {
      // point at the key of a mapping entry when we can
      const pos = counter.linePos(range[0])
      return { line: pos.line, col: pos.col }
    }
  }
  return { line: 1, col: 1 }
}

/** Parses and validates an AWS environment file's text. `file` is used in error positions. */
export function parseAwsConfig(text: string, file = '<aws environment>'): AwsConfig {
  const counter = new LineCounter()
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false })
  if (doc.errors.length) {
    const issues = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 }
      return { file, line: pos.line, col: pos.col, message: e.message }
    })
    throw new ValidationError(`${file}: invalid YAML: ${issues[0].message}`, issues)
  }
  const raw = doc.toJS() as unknown
  if (!isMap(doc.contents))
    throw new ValidationError(`${file}: expected a mapping at the top level`, [{ file, line: 1, col: 1, message: 'expected a mapping' }])

  const inline = findInlineSecrets(raw)
  if (inline.length) {
    const issues = inline.map((path) => ({ file, ...locate(doc, counter, path), message: `${path.join('.')}: ${INLINE_SECRET}` }))
    throw new ValidationError(`${file}:${issues[0].line}:${issues[0].col}: ${issues[0].message}`, issues)
  }

  const result = AwsConfigSchema.safeParse(raw)
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      const where = locate(doc, counter, issue.path)
      const at = issue.path.length ? `${issue.path.join('.')}: ` : ''
      return { file, ...where, message: `${at}${issue.message}` }
    })
    const first = issues[0]
    throw new ValidationError(`${file}:${first.line}:${first.col}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, issues)
  }
  return result.data
}

/** Reads, validates and allow-list checks an AWS environment file. Makes no AWS call. */
export async function loadAwsConfig(file: string): Promise<AwsConfig> {
  const text = await readFile(file, 'utf8')
  const cfg = parseAwsConfig(text, file)
  checkConfigAllowList(cfg)
  return cfg
}

// ── secrets ────────────────────────────────────────────────────────────────────────────────

function expandHome(path: string, baseDir?: string): string {
  if (path === '~' || path.startsWith('~/')) return resolvePath(homedir(), path.slice(2))
  if (isAbsolute(path) || !baseDir) return path
  return resolvePath(baseDir, path)
}

/**
 * Resolves a secret reference at the moment it is needed (never at load, never logged).
 * A relative `fromFile` path is taken from the environment file's folder.
 */
export function readSecret(ref: SecretRef, opts: { baseDir?: string; env?: NodeJS.ProcessEnv } = {}): string {
  if ('fromEnv' in ref) {
    const value = (opts.env ?? process.env)[ref.fromEnv]
    if (value === undefined || value === '') throw new ValidationError(`secret: environment variable ${ref.fromEnv} is not set`)
    return value
  }
  const path = expandHome(ref.fromFile, opts.baseDir)
  try {
    return readFileSync(path, 'utf8').trim()
  } catch (err) {
    throw new ValidationError(`secret: cannot read ${path}: ${(err as Error).message}`)
  }
}

export function configDir(file: string): string {
  return dirname(resolvePath(file))
}

export function resolveFilePath(path: string, baseDir?: string): string {
  return expandHome(path, baseDir)
}
