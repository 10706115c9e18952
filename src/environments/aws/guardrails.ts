/**
 * The AWS guardrails, in one place:
 *
 *   allow-list    the file (region, account, cluster), the region every client is configured
 *                 for and — with one read-only STS call, made once — the account the credentials
 *                 belong to; checked before any other call
 *   blast radius  targets counted by kind (EC2 instances, tasks per service, AZs, cache shards) and per wave,
 *                 at plan and again at injection against live counts
 *   alarms        CloudWatch alarms in ALARM, for the experiment's `alarm:` guardrails
 *
 * Whatever cannot be verified is refused: no credentials, or credentials STS rejects, is a
 * DiscoveryError saying what to do; another account or region is an AllowListError.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { AllowListError, BlastRadiusError, DiscoveryError } from '../../api/errors.ts'
import type { ResolvedTarget } from '../../api/fault.ts'
import { CLIENT_NAMES, clientRegion, type AwsClients } from './clients.ts'
import { checkArnAllowed, checkConfigAllowList, limitsFor, type AwsConfig } from './config.ts'

/** What an SDK or network error says about the caller's credentials, with the next step. */
export function identityProblem(err: unknown, cfg: AwsConfig): DiscoveryError {
  const e = err as Error & { code?: string; $metadata?: { httpStatusCode?: number } }
  const name = e?.name ?? ''
  const message = e?.message ?? String(err)
  const where = `account ${cfg.accountId} in ${cfg.region}`
  if (name === 'CredentialsProviderError' || name === 'TokenProviderError' || /could not load credentials|token is expired|sso session/i.test(message)) {
    return new DiscoveryError(
      `no usable AWS credentials for ${where} (${message}). Log in — e.g. \`aws sso login --profile <profile>\` and set AWS_PROFILE=<profile> — ` +
        'or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), then run the command again',
      { cause: err },
    )
  }
  if (/ExpiredToken|InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient|AccessDenied|InvalidAccessKeyId/i.test(name)) {
    return new DiscoveryError(
      `AWS refused the credentials for ${where} (${name}: ${message}): they are expired or not valid there. Log in again (aws sso login, or fresh keys), then run the command again`,
      { cause: err },
    )
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|TimeoutError|NetworkingError/i.test(`${e?.code ?? ''} ${name} ${message}`)) {
    return new DiscoveryError(
      `cannot reach AWS (sts:GetCallerIdentity in ${cfg.region}${cfg.endpoint ? ` at ${cfg.endpoint}` : ''}): ${message}. Check the network, a proxy (HTTPS_PROXY) or the file's endpoint`,
      { cause: err },
    )
  }
  return new DiscoveryError(`could not establish who the AWS caller is for ${where}: ${name ? `${name}: ` : ''}${message}`, { cause: err })
}

export class AwsGuard {
  private identity?: Promise<void>

  constructor(
    readonly config: AwsConfig,
    private readonly clients: AwsClients,
  ) {}

  /** The allow-list: the file, every client's region, the credentials' account (STS, once; again after a failure). */
  async check(): Promise<void> {
    checkConfigAllowList(this.config)
    this.identity ??= this.checkIdentity()
    try {
      await this.identity
    } catch (err) {
      this.identity = undefined
      throw err
    }
  }

  /** An ARN's account and region must be allowed. */
  arn(arn: string): void {
    checkArnAllowed(this.config, arn)
  }

  private async checkIdentity(): Promise<void> {
    const cfg = this.config
    for (const name of CLIENT_NAMES) {
      const region = await clientRegion(this.clients[name])
      if (region !== cfg.region) throw new AllowListError(`the ${name} client is configured for region ${region ?? '(none)'}, not ${cfg.region}`)
    }
    let account: string | undefined
    try {
      account = (await this.clients.sts.send(new GetCallerIdentityCommand({}))).Account
    } catch (err) {
      throw identityProblem(err, cfg)
    }
    if (!account || !cfg.allow.accounts.includes(account)) {
      throw new AllowListError(
        `the AWS credentials belong to account ${account ?? '(unknown)'}, which is not in allow.accounts [${cfg.allow.accounts.join(', ')}]: use credentials for ${cfg.accountId} (AWS_PROFILE)`,
      )
    }
    if (account !== cfg.accountId) {
      throw new AllowListError(
        `the AWS credentials belong to account ${account}, but the environment file is for ${cfg.accountId}: use credentials for ${cfg.accountId}`,
      )
    }
  }

  /** CloudWatch alarms (names or ARNs) that are in ALARM now. */
  async alarmsFiring(alarms: string[]): Promise<string[]> {
    if (!alarms.length) return []
    await this.check()
    const nameOf = (alarm: string) => (alarm.startsWith('arn:') ? (alarm.split(':alarm:')[1] ?? alarm) : alarm)
    for (const alarm of alarms) if (alarm.startsWith('arn:')) this.arn(alarm)
    const names = [...new Set(alarms.map(nameOf))]
    const firing = new Set<string>()
    for (let i = 0; i < names.length; i += 100) {
      let nextToken: string | undefined
      do {
        const page = await this.clients.cloudwatch.send(
          new DescribeAlarmsCommand({
            AlarmNames: names.slice(i, i + 100),
            StateValue: 'ALARM',
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            NextToken: nextToken,
          }),
        )
        for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) if (a.AlarmName) firing.add(a.AlarmName)
        nextToken = page.NextToken
      } while (nextToken)
    }
    return alarms.filter((a) => firing.has(nameOf(a)))
  }
}

/** What the blast-radius check needs to know of the environment, live. */
export interface BlastRadiusFacts {
  /** every logical AZ of the environment (empty before discovery) */
  allAzs(): string[]
  /** the AZs a `link` target (explicit partition groups) cuts off */
  azsOfLink(target: ResolvedTarget): string[]
  /** how many tasks of a service run now */
  runningTasks(service: string): Promise<number>
}

/**
 * Counts the targets by kind — EC2 instances (`node`), AZs (`az`, and the AZs a `link` cuts),
 * cache shards (`shard`), tasks (`task`, in all and per service) — against the file's limits for this fault type.
 * Targets of different waves are hit one after another (a rolling restart): each wave alone.
 */
export async function checkBlastRadius(
  cfg: AwsConfig,
  facts: BlastRadiusFacts,
  faultType: string,
  targets: ResolvedTarget[],
  when: 'plan' | 'inject',
): Promise<void> {
  const waves = new Map<number, ResolvedTarget[]>()
  for (const t of targets) waves.set(t.wave ?? 0, [...(waves.get(t.wave ?? 0) ?? []), t])
  for (const wave of waves.values()) await checkWave(cfg, facts, faultType, wave, when)
}

async function checkWave(cfg: AwsConfig, facts: BlastRadiusFacts, faultType: string, targets: ResolvedTarget[], when: 'plan' | 'inject'): Promise<void> {
  const limits = limitsFor(cfg, faultType)
  const at = when === 'plan' ? 'at plan' : 'at injection'
  const ofKind = (kind: ResolvedTarget['kind']) => targets.filter((t) => t.kind === kind)

  const azs = new Set([...ofKind('az').map((t) => t.id), ...ofKind('link').flatMap((t) => facts.azsOfLink(t))])
  if (azs.size > limits.maxAzs) {
    throw new BlastRadiusError(`${faultType} would cut ${azs.size} AZs (${[...azs].join(', ')}) ${at}; the limit is maxAzs=${limits.maxAzs}`)
  }
  const all = facts.allAzs()
  if (azs.size && all.length && all.every((az) => azs.has(az))) throw new BlastRadiusError(`${faultType} would hit every AZ (${all.join(', ')}) ${at}`)

  const instances = new Set(ofKind('node').map((t) => t.id))
  if (instances.size > limits.maxInstances) {
    throw new BlastRadiusError(
      `${faultType} would stop ${instances.size} EC2 instances (${[...instances].join(', ')}) ${at}; the limit is maxInstances=${limits.maxInstances}`,
    )
  }

  const shards = new Set(ofKind('shard').map((t) => t.id))
  if (shards.size > limits.maxShards) {
    throw new BlastRadiusError(
      `${faultType} would fail over ${shards.size} cache shards (${[...shards].join(', ')}) ${at}; the limit is maxShards=${limits.maxShards}`,
    )
  }

  const tasks = ofKind('task')
  if (tasks.length > limits.maxTasks) {
    throw new BlastRadiusError(`${faultType} would stop ${tasks.length} tasks ${at}; the limit is maxTasks=${limits.maxTasks}`)
  }
  const byService = new Map<string, number>()
  for (const t of tasks) {
    const service = typeof t.service === 'string' ? t.service : undefined
    if (!service) throw new BlastRadiusError(`${faultType}: task target ${t.id} names no service, so its share cannot be checked`)
    byService.set(service, (byService.get(service) ?? 0) + 1)
  }
  for (const [service, count] of byService) {
    const running = await facts.runningTasks(service)
    const percent = running === 0 ? 100 : (count / running) * 100
    const emptiesService = count >= running && limits.maxTaskPercent < 100
    if (emptiesService || percent > limits.maxTaskPercent) {
      throw new BlastRadiusError(
        `${faultType} would stop ${count} of the ${running} running tasks of ${service} (${percent.toFixed(0)}%) ${at}; the limit is maxTaskPercent=${limits.maxTaskPercent}` +
          (emptiesService ? ' (a service must keep at least one task)' : ''),
      )
    }
  }
}
