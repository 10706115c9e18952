/**
 * The task environment: what the supervisor (local, containers, ECS) passes to every task.
 * See target/README.md for the whole process contract.
 */

export type BrokenVariant =
  | 'no-drain'
  | 'no-breaker'
  | 'skip-cas'
  | 'ack-without-store'
  | 'long-breaker-timeout'
  | 'one-replica-stream'
  | 'non-atomic-cas'
  | 'no-reconnect'
  | 'no-lame-duck-handover'

/** Every deliberately broken variant a task knows (GAMEDAY_BROKEN); target/README.md says what each does. */
export const BROKEN_VARIANTS: readonly BrokenVariant[] = [
  'no-drain',
  'no-breaker',
  'skip-cas',
  'ack-without-store',
  'long-breaker-timeout',
  'one-replica-stream',
  'non-atomic-cas',
  'no-reconnect',
  'no-lame-duck-handover',
]

export interface TaskEnv {
  /** NATS_URL, split on commas */
  natsServers: string[]
  /** REDIS_URL, when set */
  redisUrl?: string
  service: string
  taskId: string
  az: string
  /** gateway HTTP port (services ignore it) */
  port: number
  stopGraceMs: number
  requestTimeoutMs: number
  /** GAMEDAY_BROKEN, comma-separated */
  broken: ReadonlySet<BrokenVariant>
  /** the raw environment, for service-specific knobs */
  raw: NodeJS.ProcessEnv
}

export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`)
  return value
}

export function parseTaskEnv(env: NodeJS.ProcessEnv = process.env, defaults: { service: string }): TaskEnv {
  const natsServers = (env.NATS_URL ?? 'nats://127.0.0.1:4222')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const broken = new Set<BrokenVariant>()
  for (const item of (env.GAMEDAY_BROKEN ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(BROKEN_VARIANTS as readonly string[]).includes(item)) {
      throw new Error(`GAMEDAY_BROKEN: unknown variant ${JSON.stringify(item)} (known: ${BROKEN_VARIANTS.join(', ')})`)
    }
    broken.add(item as BrokenVariant)
  }
  const service = env.SERVICE || defaults.service
  return {
    natsServers,
    redisUrl: env.REDIS_URL || undefined,
    service,
    taskId: env.TASK_ID || `${service}-${process.pid}`,
    az: env.AZ || 'az-a',
    port: intFromEnv(env, 'PORT', 8080),
    stopGraceMs: intFromEnv(env, 'STOP_GRACE_MS', 10_000),
    requestTimeoutMs: intFromEnv(env, 'REQUEST_TIMEOUT_MS', 1_000),
    broken,
    raw: env,
  }
}
