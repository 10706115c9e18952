/**
 * What the ECS stand-in needs to know of a service — an ECS task definition and service in one:
 * how to run a task (a TypeScript entry of this repository, any command, or an image), how many,
 * how it says it is ready, how long it may take to stop. Environment files are read into these
 * (../service-config.ts); the stand-in never sees YAML.
 */

/** How a task proves it is ready; the stand-in routes traffic to it and counts it only then. */
export type ReadyCheck =
  /** its own `{"event":"ready"}` line on stdout (the reference services' contract; the default) */
  | { event: true }
  /** GET <path> on its PORT answers 2xx */
  | { http: string }
  /** it answers `$SRV.PING.<name>` (the NATS services protocol) */
  | { natsService: string }
  /** a line of its output matches the regular expression */
  | { log: string }
  /** its PORT accepts TCP connections */
  | { tcp: true }

export interface TaskDefinition {
  service: string
  /** desired count */
  instances: number
  /** serves HTTP: gets a PORT and sits behind the environment's load balancer */
  http: boolean
  /** Redis caches it uses: the first is its REDIS_URL */
  caches: string[]
  /** the services it sends NATS requests to (with accounts, what its account imports) */
  calls?: string[]
  /** a TypeScript entry point of this repository, run with node (tsx) */
  entry?: string
  /** any executable and its arguments (placeholders filled per task) */
  command?: string[]
  /** containers: the image a task runs (with `command`, instead of the image's own) */
  image?: string
  /** local: the working directory of a command (absolute; made so from the environment file's folder) */
  cwd?: string
  /** the service's own variables (placeholders filled per task) */
  env: Record<string, string>
  ready: ReadyCheck
  /** SIGTERM → SIGKILL, like the ECS stop timeout */
  stopGraceMs: number
  /** http: out of the load balancer this long before its SIGTERM, like a target group's deregistration delay */
  deregistrationDelayMs: number
  /** a task not ready by then is stopped and counted failed (as ECS does after its health-check grace) */
  readyTimeoutMs: number
}

/** Whether the task gets a PORT: it serves HTTP, or it is checked by connecting to it. */
export function needsPort(def: TaskDefinition): boolean {
  return def.http || 'tcp' in def.ready || 'http' in def.ready
}

export function describeReadyCheck(check: ReadyCheck): string {
  if ('http' in check) return `GET ${check.http} answers 2xx`
  if ('natsService' in check) return `it answers $SRV.PING.${check.natsService}`
  if ('log' in check) return `a line matches /${check.log}/`
  if ('tcp' in check) return 'its PORT accepts connections'
  return 'its {"event":"ready"} line'
}
