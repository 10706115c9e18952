/**
 * `--env aws`: the game-day deployment on AWS, found by tags and driven through the real SDK,
 * assembled from parts that each own their calls and their `describe` for plan:
 *
 *   guardrails  allow-list (file, client regions, the caller's account), blast radius, alarms  guardrails.ts
 *   discovery   what the file names, found by tags with read-only calls                     discovery.ts
 *   nodes       NATS servers as EC2 instances (stop, force-stop, terminate, start)            nodes.ts
 *   tasks       ECS services and tasks (StopTask, waits on the desired count)                 tasks.ts
 *   network     partitions and Redis links through FIS                                        network.ts
 *   caches      ElastiCache replication groups (TestFailover, waits)                          caches.ts
 *   capability  what AWS-only faults use (src/api/aws.ts)                                     capability.ts
 *
 * `up()` discovers and verifies, it never creates anything; `down()` leaves AWS alone.
 * Everything gameday creates in FIS carries the run id as a tag, so `gameday recover` heals a
 * crashed run from the journal and the tags alone.
 */
import type { AwsCapability } from '../../api/aws.ts'
import type { Capability, Endpoints, Environment, EnvironmentStatus, Guardrails, Logger, Topology } from '../../api/environment.ts'
import { TargetError } from '../../api/errors.ts'
import { awsCapability } from './capability.ts'
import { AwsCaches } from './caches.ts'
import { CLIENT_NAMES, createClients, type AwsClients } from './clients.ts'
import { checkConfigAllowList, configDir, loadAwsConfig, type AwsConfig } from './config.ts'
import { AwsDiscovery, type Discovery } from './discovery.ts'
import { awsEndpoints } from './endpoints.ts'
import { FisRunner } from './fis.ts'
import { AwsGuard, checkBlastRadius } from './guardrails.ts'
import { AwsNetwork } from './network.ts'
import { AwsNodes } from './nodes.ts'
import { AwsTasks } from './tasks.ts'

export interface AwsEnvironmentOptions {
  /** the environment file it came from */
  source?: string
  /** clients to use instead of real ones (tests pass mocked ones) */
  clients?: Partial<AwsClients>
  /** folder relative secret and TLS paths are resolved from (default: the file's folder) */
  baseDir?: string
}

const quiet: Logger = { info() {}, warn() {} }

export class AwsEnvironment implements Environment {
  readonly kind = 'aws' as const
  readonly source: string
  readonly clients: AwsClients
  readonly guard: AwsGuard
  readonly discovery: AwsDiscovery
  readonly elasticache: AwsCaches
  readonly nodes: AwsNodes
  readonly tasks: AwsTasks
  readonly network: AwsNetwork
  readonly fis: FisRunner
  readonly endpoints: Endpoints
  readonly guardrails: Guardrails
  private readonly aws: AwsCapability
  /** where parts say what they did: the logger of the last up() / discover() */
  private log: Logger = quiet

  constructor(
    readonly config: AwsConfig,
    opts: AwsEnvironmentOptions = {},
  ) {
    checkConfigAllowList(config)
    this.source = opts.source ?? '<aws>'
    const baseDir = opts.baseDir ?? (opts.source ? configDir(opts.source) : undefined)
    this.clients = createClients(config.region, opts.clients, { endpoint: config.endpoint })
    this.guard = new AwsGuard(config, this.clients)
    this.elasticache = new AwsCaches(config, this.clients, this.guard)
    this.discovery = new AwsDiscovery(config, this.clients, this.guard, this.elasticache, this.source)
    const log = () => this.log
    this.nodes = new AwsNodes(config, this.clients, this.guard, this.discovery, log)
    this.tasks = new AwsTasks(config, this.clients, this.guard, this.discovery, log)
    this.fis = new FisRunner(this.clients.fis, { config, guard: () => this.guard.check() })
    this.network = new AwsNetwork(config, this.discovery, this.fis, (fault, azs) =>
      this.checkBlastRadius(
        fault,
        azs.map((az) => ({ kind: 'az', id: az })),
        'inject',
      ),
    )
    this.endpoints = awsEndpoints(config, this.discovery, baseDir)
    this.aws = awsCapability({
      config,
      cloudwatchClient: this.clients.cloudwatch,
      fisClient: this.clients.fis,
      fis: this.fis,
      guard: this.guard,
      caches: this.elasticache,
      tasks: this.tasks,
    })
    this.guardrails = {
      requiresConfirmation: true,
      checkBlastRadius: (faultType, targets, when) => this.checkBlastRadius(faultType, targets, when),
      alarmsFiring: (alarms) => this.guard.alarmsFiring(alarms),
    }
  }

  /** Blast radius by target kind and wave, against the live counts. */
  checkBlastRadius(faultType: string, targets: Parameters<Guardrails['checkBlastRadius']>[1], when: 'plan' | 'inject'): Promise<void> {
    return checkBlastRadius(
      this.config,
      {
        allAzs: () => (this.discovery.peek() ? this.topology().azs : []),
        azsOfLink: (t) => this.network.azsOfLink(t),
        runningTasks: async (service) => (await this.tasks.serviceCounts(service)).running,
      },
      faultType,
      targets,
      when,
    )
  }

  topology(): Topology {
    return this.discovery.topology()
  }

  /** the AWS services behind the AWS-only faults (key: AWS in src/api/aws.ts) */
  capability<T>(key: Capability<T>): T | undefined {
    return key.name === 'aws' ? (this.aws as T) : undefined
  }

  /** Finds every resource the file names (read-only); a failure says why and what to do. */
  async discover(log?: Logger): Promise<Discovery> {
    if (log) this.log = log
    return this.discovery.discover()
  }

  /**
   * Up once discovered. A discovery that fails is not "down" — gameday never starts anything on
   * AWS, so `run` could not start it — but a reason (no credentials, another account, a tag that
   * finds nothing): it is thrown, with what to do, for plan and run to say.
   */
  async isUp(): Promise<boolean> {
    await this.discover()
    return true
  }

  /** Verifies access and finds every resource; creates nothing. */
  async up(log: Logger): Promise<void> {
    const d = await this.discover(log)
    const cfg = this.config
    for (const name of Object.keys(cfg.nats)) {
      const nodes = d.instances.filter((i) => i.cluster === name)
      if (!nodes.length) throw new TargetError(`no EC2 instance carries the tags of NATS cluster "${name}" (${JSON.stringify(cfg.nats[name].instances.tags)})`)
      log.info(`aws: NATS ${name}: ${nodes.map((n) => `${n.node}=${n.instanceId}@${n.az}(${n.state})`).join(' ')}`)
    }
    if (cfg.subnets) {
      if (!d.subnets.length) throw new TargetError(`no subnet carries the tags ${JSON.stringify(cfg.subnets.tags)}`)
      log.info(`aws: subnets: ${d.subnets.map((s) => `${s.id}@${this.aws.logicalAz(s.realAz)}`).join(' ')}`)
    }
    for (const s of Object.values(d.services)) log.info(`aws: service ${s.logical} = ${s.ecsName}: ${s.running}/${s.desired} running`)
    for (const c of Object.values(d.caches)) log.info(`aws: cache ${c.cache} = ${c.replicationGroupId}: ${c.status}, multi-AZ ${c.multiAz ? 'on' : 'off'}`)
    if (cfg.stopConditions.length) {
      const firing = await this.guard.alarmsFiring(cfg.stopConditions)
      if (firing.length) log.warn(`aws: stop-condition alarms already firing (FIS will refuse to start): ${firing.join(', ')}`)
    } else log.warn('aws: no stopConditions: FIS templates will run with stop condition "none"')
  }

  /** Game days never create or delete infrastructure: nothing to tear down. */
  async down(log: Logger): Promise<void> {
    log.info('aws: nothing to tear down (the AWS environment is found, never created)')
  }

  async status(): Promise<EnvironmentStatus> {
    try {
      const d = await this.discover()
      const lines: EnvironmentStatus['lines'] = []
      for (const i of d.instances) lines.push({ what: `nats ${i.cluster}/${i.node}`, state: i.state, detail: `${i.instanceId} ${i.az}` })
      for (const s of Object.values(d.services))
        lines.push({
          what: `service ${s.logical}`,
          state: s.running >= s.desired ? 'up' : 'degraded',
          detail: `${s.running}/${s.desired} running (${s.ecsName})`,
        })
      for (const c of Object.values(d.caches)) lines.push({ what: `cache ${c.cache}`, state: c.status, detail: c.replicationGroupId })
      return { up: lines.every((l) => ['running', 'up', 'available'].includes(l.state)), lines }
    } catch (err) {
      return { up: false, lines: [{ what: 'aws', state: 'unreachable', detail: (err as Error).message }] }
    }
  }

  async close(): Promise<void> {
    for (const name of CLIENT_NAMES) this.clients[name].destroy()
  }
}

/** Loads `environments/aws.yaml` (kind: aws) into an environment. Makes no AWS call. */
export async function loadAwsEnvironment(file: string, opts: { clients?: Partial<AwsClients> } = {}): Promise<AwsEnvironment> {
  const config = await loadAwsConfig(file)
  return new AwsEnvironment(config, { source: file, clients: opts.clients })
}

export type { AwsClients } from './clients.ts'
export type { Discovery } from './discovery.ts'
