/**
 * The environment contract. An experiment names logical things (cluster `core`, AZ `az-b`,
 * service `gateway`, cache `cache`); an Environment binds them to real resources — local
 * processes, containers or AWS — and offers the controls faults use. Every control that
 * mutates returns nothing a fault needs to remember beyond what it passed in, so that a
 * revert can be replayed from the journal by `gameday recover` after a crash.
 */

import { Agent as HttpAgent, request as httpRequest, type AgentOptions, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { readFileSync } from 'node:fs'
import type { Json, ResolvedTarget } from './fault.ts'
import { UnsupportedError, ValidationError } from './errors.ts'

/** The kind named by an environment file's `kind:` — local, containers, aws, or one a plugin registers. */
export type EnvironmentKind = string

/**
 * A typed key for a capability only some environments offer (the AWS services behind an
 * AWS-only fault, say). A fault asks `ctx.env.capability(KEY)` and gets the typed part or
 * undefined — never an unchecked cast to a concrete environment class.
 *
 *   export const AWS = capability<AwsCapability>('aws')
 *   const aws = requireCapability(ctx.env, AWS, 'redis.failover')   // typed, or an UnsupportedError
 */
export interface Capability<T> {
  readonly name: string
  /** carries T for the type checker only */
  readonly __type?: T
}

export function capability<T>(name: string): Capability<T> {
  return { name }
}

export interface NodeInfo {
  cluster: string
  name: string
  az: string
}

export interface ClusterTopology {
  name: string
  nodes: NodeInfo[]
}

export interface ServiceTopology {
  name: string
  /** desired number of tasks (instances) */
  desired: number
}

export interface Topology {
  azs: string[]
  clusters: Record<string, ClusterTopology>
  caches: Record<string, { name: string; az?: string }>
  services: Record<string, ServiceTopology>
}

export interface TaskInfo {
  service: string
  /** task id: a pid-based id locally, a container id, an ECS task ARN */
  id: string
  az?: string
  /** RUNNING | STOPPING | STOPPED | PENDING */
  state: string
  startedAt?: string
}

/**
 * One task's lifecycle as the environment saw it, stopped tasks included: what timing reports
 * are made of (how long a stop took, when the replacement was ready). Times are ISO strings.
 */
export interface TaskLifecycle {
  service: string
  id: string
  az?: string
  /** PENDING | RUNNING | DRAINING | STOPPING | STOPPED */
  state: string
  startedAt?: string
  /** when the task said it was ready (local: its `ready` line; ECS: healthy) */
  readyAt?: string
  /** when it started draining (stopped taking new work) */
  drainingAt?: string
  stoppedAt?: string
  exitCode?: number | null
  exitSignal?: string | null
  /** what the task itself reported when it stopped (in-flight, drained, abandoned, dropped) */
  stopReport?: Record<string, unknown>
}

export interface RedisEndpoint {
  host: string
  port: number
  password?: string
  tls?: boolean
  /** with tls: the CA that signed the servers' certificates (a private CA) */
  caFile?: string
  /**
   * A Redis Cluster: `host:port` above is one seed; `nodes` are all of them as the client dials
   * them, and `natMap` rewrites the addresses the nodes announce (MOVED, CLUSTER SLOTS) to those
   * — ioredis `new Cluster(nodes, { natMap, redisOptions: { password, tls } })`.
   */
  cluster?: { nodes: { host: string; port: number }[]; natMap?: Record<string, { host: string; port: number }> }
}

/** How probes and faults reach the system under test. */
export interface Endpoints {
  /** client URLs of a NATS cluster, e.g. nats://127.0.0.1:4222 */
  natsServers(cluster: string): string[]
  /** NATS connection options beyond servers (credentials, TLS) for this environment */
  natsOptions?(cluster: string): Record<string, unknown>
  /** monitoring base URL of one node (http://host:8222), for /healthz /routez /jsz */
  natsMonitor(cluster: string, node: string): string
  redis(cache: string): RedisEndpoint
  /** base URL of the HTTP→NATS gateway */
  gateway(): string
  /** the CA file an https:// gateway's certificate chains to, when it is a private CA */
  gatewayCaFile?(): string | undefined
}

/** HTTP(S) to the gateway, whatever its scheme: what the HTTP probes send their requests through. */
export interface GatewayHttp {
  readonly url: URL
  /** a request to the gateway: protocol, host, port, agent and TLS (the environment's CA) filled in */
  request(options: Omit<RequestOptions, 'host' | 'hostname' | 'port' | 'protocol'>, callback?: (res: IncomingMessage) => void): ClientRequest
  /** closes kept-alive connections */
  close(): void
}

/**
 * The gateway as an HTTP client: https:// gets TLS (verified against the environment's CA when
 * it names one, the system's otherwise), http:// plain HTTP. `agent: false` opens a connection
 * per request.
 */
export function gatewayHttp(env: Environment, agent: AgentOptions | false = {}): GatewayHttp {
  const url = new URL(env.endpoints.gateway())
  const https = url.protocol === 'https:'
  if (!https && url.protocol !== 'http:') throw new ValidationError(`the gateway URL ${url.href} is neither http:// nor https://`)
  const caFile = https ? env.endpoints.gatewayCaFile?.() : undefined
  let ca: Buffer | undefined
  try {
    ca = caFile ? readFileSync(caFile) : undefined
  } catch (err) {
    throw new ValidationError(`cannot read the gateway CA file ${caFile}: ${(err as Error).message}`, [], { cause: err })
  }
  const tls = ca ? { ca } : {}
  const pool = agent === false ? false : https ? new HttpsAgent({ ...agent, ...tls }) : new HttpAgent(agent)
  const send = https ? httpsRequest : httpRequest
  return {
    url,
    request: (options, callback) =>
      send({ agent: pool, ...tls, ...options, protocol: url.protocol, hostname: url.hostname, port: url.port || (https ? 443 : 80) }, callback),
    close: () => {
      if (pool) pool.destroy()
    },
  }
}

/** What a node fault asks of the environment; `describe` says how this environment does it, for `plan`. */
export type NodeAction = 'kill' | 'stop' | 'start' | 'pause' | 'resume' | 'lameDuck'

export interface NodeControl {
  /**
   * The action as this environment would carry it out, one line per call or signal, without
   * doing it (`plan`): "kill NATS node n2 (az-a)" locally, the exact EC2 calls on AWS. An action
   * the environment cannot do (no `pause` on AWS) throws an UnsupportedError, so plan refuses it.
   */
  describe(action: NodeAction, node: NodeInfo): string[]
  /** abrupt death: SIGKILL, docker kill, EC2 terminate/stop-force */
  kill(node: NodeInfo): Promise<void>
  /** graceful stop: SIGTERM, docker stop, EC2 stop */
  stop(node: NodeInfo): Promise<void>
  /** start a node that was killed or stopped, with its stored state */
  start(node: NodeInfo): Promise<void>
  /** freeze / thaw the process (SIGSTOP / SIGCONT, docker pause / unpause) */
  pause?(node: NodeInfo): Promise<void>
  resume?(node: NodeInfo): Promise<void>
  /** put a NATS server into lame duck mode */
  lameDuck?(node: NodeInfo): Promise<void>
  /** whether the node's process is running (not necessarily healthy) */
  isRunning(node: NodeInfo): Promise<boolean>
  /** directory holding the node's JetStream store, where the environment can reach it */
  storeDir?(node: NodeInfo): string
}

/** One node of a Redis Cluster as it is now (roles change on every failover). */
export interface CacheNodeInfo {
  cache: string
  /** the environment's name for the node, e.g. cache-s2-1 */
  name: string
  az?: string
  role: 'primary' | 'replica'
  /** 1-based shard number (stable: a node stays in its shard across failovers) */
  shard: number
  /** the process or the cluster counts it failed, or it does not answer */
  failed: boolean
}

export interface CacheShard {
  cache: string
  shard: number
  /** inclusive slot ranges its primary serves */
  slots: [number, number][]
  /** none while the shard has no healthy primary (between a primary's death and its replica's promotion) */
  primary?: CacheNodeInfo
  replicas: CacheNodeInfo[]
}

/** What a Redis Cluster fault asks of one node; `describeNode` says how the environment does it, for `plan`. */
export type CacheNodeAction = 'kill' | 'start' | 'failover' | 'failover-force' | 'failover-takeover' | 'isolate' | 'rejoin'

export interface CacheControl {
  /** abrupt death of the cache server (SIGKILL, docker kill) */
  kill(cache: string): Promise<void>
  /** start it again (empty: the cache is a cache) */
  start(cache: string): Promise<void>
  isRunning(cache: string): Promise<boolean>
  /** a Redis Cluster's shards as they are now; absent (or undefined) for a single server */
  shards?(cache: string): Promise<CacheShard[] | undefined>
  /** kill / start one node of a cluster (its data dir and node id kept: it rejoins, as a replica if it was replaced) */
  killNode?(cache: string, node: string): Promise<void>
  startNode?(cache: string, node: string): Promise<void>
  /**
   * Make this replica its shard's primary: CLUSTER FAILOVER (coordinated with the old primary),
   * FORCE (without it), TAKEOVER (without the other primaries' vote); AWS: TestFailover.
   * Resolves once the replica serves as primary.
   */
  failover?(cache: string, replica: string, mode: 'coordinated' | 'force' | 'takeover', signal?: AbortSignal): Promise<void>
  /** Cut a node from every other node of its cluster (bus and replication, both ways) while clients still reach it; returns the revert state. */
  isolateNode?(cache: string, node: string, ctx: ControlContext): Promise<Json>
  rejoinNode?(state: Json, ctx: ControlContext): Promise<void>
  describeNode?(action: CacheNodeAction, cache: string, node: string): string[]
}

/** A server certificate a fault installs: a fresh one from the environment's CA, one expired, one from a CA nobody trusts. */
export type CertificateKind = 'fresh' | 'expired' | 'untrusted'

/** Which TLS listener of a NATS node: the client port, or the routes between nodes. */
export type TlsListener = 'clients' | 'routes'

/**
 * The `nats-tls` capability: environments whose NATS runs TLS from a CA they made. Every
 * mutating call keeps a copy of what it replaced and returns its revert state; `restore` puts
 * exactly that back (and reloads), so `gameday recover` can undo it from the journal.
 */
export interface NatsTlsControl {
  /** install a certificate of this kind for the listener and reload the node's configuration (no restart) */
  install(node: NodeInfo, listener: TlsListener, kind: CertificateKind, ctx: ControlContext): Promise<Json>
  restore(state: Json, ctx: ControlContext): Promise<void>
  /** SHA-256 fingerprint (hex) of the certificate the node presents on this listener now (a TLS handshake) */
  presented(node: NodeInfo, listener: TlsListener): Promise<string>
  /** what install / restore would do, one line per action, without doing it (`plan`) */
  describe(action: 'install' | 'restore', node: NodeInfo, listener: TlsListener, kind?: CertificateKind): string[]
}

export const NATS_TLS: Capability<NatsTlsControl> = capability<NatsTlsControl>('nats-tls')

export interface TaskControl {
  /**
   * The stop or kill as this environment carries it out, one line per call or signal, without
   * doing it (`plan`): the exact ECS call on AWS, saying plainly what a `grace` cannot change there.
   * Absent: the generic description (SIGTERM, SIGKILL after the grace) is exact.
   */
  describe?(action: 'stop' | 'kill', task: TaskInfo, opts?: { graceMs?: number; reason?: string }): string[]
  /** how often a fault may list tasks while it waits (ECS rate-limits its API; processes do not): the first pause, backed off from there */
  readonly pollIntervalMs?: number
  list(service: string): Promise<TaskInfo[]>
  /** graceful stop: SIGTERM then SIGKILL after graceMs (ECS StopTask semantics); reason names the run */
  stop(task: TaskInfo, opts?: { graceMs?: number; reason?: string }): Promise<void>
  kill(task: TaskInfo): Promise<void>
  /** wait until the service runs its desired number of ready tasks again */
  waitForDesired(service: string, timeoutMs: number, signal?: AbortSignal): Promise<void>
  /** the service's tasks with their lifecycle times, stopped ones included, where the environment keeps them */
  history?(service: string): Promise<TaskLifecycle[]>
}

/** A cut between groups of nodes of one cluster (an AZ against the rest, or explicit groups). */
export interface PartitionSpec {
  cluster: string
  /** node names per side; every node appears in exactly one group */
  groups: string[][]
  /** the AZs isolated, when the cut was asked for by AZ (AWS acts per AZ subnet) */
  azs?: string[]
  /** cut only traffic from groups[0] to the others (asymmetric partition) */
  oneWay?: boolean
  /** how long the fault is meant to hold (AWS FIS ends it by itself after this, even if gameday dies) */
  durationMs?: number
}

/** A degraded link between services and a Redis cache. */
export interface CacheDegradation {
  cache: string
  latencyMs?: number
  jitterMs?: number
  /** bandwidth cap in KB/s */
  rateKBps?: number
  /** connections refused / dropped */
  down?: boolean
  /** only these services' links (default: every service using the cache) */
  services?: string[]
  /** how long the fault is meant to hold (AWS FIS ends it by itself after this) */
  durationMs?: number
}

export interface ControlContext {
  runId: string
  log: Logger
  signal?: AbortSignal
}

/**
 * Network faults. Each mutating call returns a JSON revert state which the engine journals;
 * the matching undo gets only that state, so a crashed run can be healed by `gameday recover`.
 * `describe*` lists the actions (AWS: the mutating API calls) without making them, for `plan`.
 *
 * `heal` and `restoreCache` may receive `{}`: the run died after journaling its targets but
 * before partition() / degradeCache() returned. They then undo whatever the run (ctx.runId) may
 * have done — AWS finds its FIS experiments by the run-id tag — or nothing.
 */
export interface NetworkControl {
  partition(spec: PartitionSpec, ctx: ControlContext): Promise<Json>
  /**
   * Drop the connections still open across a partition, as TCP eventually gives up on a silent
   * peer; the cut itself stays. Optional: environments whose partition already ends them omit it.
   */
  severConnections?(state: Json, ctx: ControlContext): Promise<void>
  heal(state: Json, ctx: ControlContext): Promise<void>
  describePartition(spec: PartitionSpec): string[]
  degradeCache(spec: CacheDegradation, ctx: ControlContext): Promise<Json>
  restoreCache(state: Json, ctx: ControlContext): Promise<void>
  describeCacheDegradation(spec: CacheDegradation): string[]
}

export interface EnvironmentStatus {
  up: boolean
  lines: { what: string; state: string; detail?: string }[]
}

export interface Logger {
  info(message: string): void
  warn(message: string): void
  debug?(message: string): void
}

/** Guardrails an environment enforces on every fault (AWS); the process environments have none. */
export interface Guardrails {
  /**
   * Throw a BlastRadiusError when targets exceed what the environment file allows, counted by
   * target kind (nodes, tasks per service, AZs, shards) and per wave. Called at plan time and
   * again just before injection (against live counts). `faultType` selects per-fault limits.
   */
  checkBlastRadius(faultType: string, targets: ResolvedTarget[], when: 'plan' | 'inject'): Promise<void>
  /** names/ARNs of the given alarms that are firing now (CloudWatch) */
  alarmsFiring?(alarms: string[]): Promise<string[]>
  /** a run asks a human before it starts (or needs --yes off a terminal) */
  readonly requiresConfirmation: boolean
}

export interface Environment {
  readonly kind: EnvironmentKind
  /** the environment file it came from */
  readonly source: string
  topology(): Topology
  endpoints: Endpoints
  nodes: NodeControl
  tasks: TaskControl
  /** cache server controls, where the environment can kill its caches' processes */
  caches?: CacheControl
  /** network fault controls (partitions, degraded cache links), where the environment offers them */
  network?: NetworkControl
  /** the guardrails this environment enforces (AWS: blast radius, alarms, confirmation) */
  guardrails?: Guardrails
  /** a capability only some environments have, by its typed key (see `capability`) */
  capability<T>(key: Capability<T>): T | undefined

  isUp(): Promise<boolean>
  /**
   * Find what the environment has without starting or changing anything (AWS: Describe/List
   * calls): `recover` calls it before reverting from the journal, `plan` before resolving. Throws
   * a DiscoveryError (credentials, account, region, tags: what to do) or a GuardrailError.
   */
  discover?(log?: Logger): Promise<unknown>
  /** start (local, containers) or verify reachability (aws); idempotent */
  up(log: Logger, signal?: AbortSignal): Promise<void>
  /** tear down everything this environment started; idempotent, never throws for "already gone" */
  down(log: Logger): Promise<void>
  status(): Promise<EnvironmentStatus>
  /** release client-side resources (connections) without touching the environment */
  close?(): Promise<void>
}

/** The capability, or an UnsupportedError naming who needed it: for faults that only some environments can serve. */
export function requireCapability<T>(env: Environment, key: Capability<T>, who: string): T {
  const found = env.capability(key)
  if (found === undefined)
    throw new UnsupportedError(`${who} needs the ${key.name} capability, which the ${env.kind} environment (${env.source}) does not have`)
  return found
}
