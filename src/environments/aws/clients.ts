/**
 * The AWS SDK clients the environment uses. They are injectable so that tests pass clients
 * whose `send` aws-sdk-client-mock intercepts; in a real run they are created from the
 * environment file's region (and endpoint, when it overrides AWS's) and the default credential
 * chain (profile, SSO, env, role). Retries use the SDK's adaptive mode: it backs off and slows
 * its own sending rate when AWS throttles, which a game day's polling must never provoke.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { EC2Client } from '@aws-sdk/client-ec2'
import { ECSClient } from '@aws-sdk/client-ecs'
import { ElastiCacheClient } from '@aws-sdk/client-elasticache'
import { FisClient } from '@aws-sdk/client-fis'
import { STSClient } from '@aws-sdk/client-sts'

export interface AwsClients {
  ecs: ECSClient
  ec2: EC2Client
  fis: FisClient
  cloudwatch: CloudWatchClient
  sts: STSClient
  elasticache: ElastiCacheClient
}

export const CLIENT_NAMES = ['ecs', 'ec2', 'fis', 'cloudwatch', 'sts', 'elasticache'] as const

export interface ClientOptions {
  /** one endpoint for every service instead of AWS's regional ones */
  endpoint?: string
  /** attempts per call, the first included (default 5) */
  maxAttempts?: number
}

/** Fills the clients not given with real ones for `region`. */
export function createClients(region: string, given: Partial<AwsClients> = {}, opts: ClientOptions = {}): AwsClients {
  const config = {
    region,
    retryMode: 'adaptive',
    maxAttempts: opts.maxAttempts ?? 5,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
  }
  return {
    ecs: given.ecs ?? new ECSClient(config),
    ec2: given.ec2 ?? new EC2Client(config),
    fis: given.fis ?? new FisClient(config),
    cloudwatch: given.cloudwatch ?? new CloudWatchClient(config),
    sts: given.sts ?? new STSClient(config),
    elasticache: given.elasticache ?? new ElastiCacheClient(config),
  }
}

/** Read-only API calls: what `gameday plan` is allowed to make. */
export function isReadOnlyCommand(commandName: string): boolean {
  return /^(Describe|List|Get)/.test(commandName.replace(/Command$/, ''))
}

/** The region a client was configured with (its resolved config holds a provider). */
export async function clientRegion(client: { config: { region: unknown } }): Promise<string | undefined> {
  const region = client.config.region
  if (typeof region === 'function') return (await (region as () => Promise<string>)()) ?? undefined
  return typeof region === 'string' ? region : undefined
}
