/**
 * The AWS environment pointed at the fake account: an environment file whose `endpoint:` is
 * the fake's loopback address, clients signed with dummy credentials, and the gameday command
 * line run as a child process with nothing but those dummy credentials in its environment (no
 * profile, no shared config, no instance metadata) — so nothing can ever reach AWS.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { EC2Client } from '@aws-sdk/client-ec2'
import { ECSClient } from '@aws-sdk/client-ecs'
import { ElastiCacheClient } from '@aws-sdk/client-elasticache'
import { FisClient } from '@aws-sdk/client-fis'
import { STSClient } from '@aws-sdk/client-sts'
import type { AwsClients } from '../../../src/environments/aws/clients.ts'
import { loadAwsConfig } from '../../../src/environments/aws/config.ts'
import { AwsEnvironment } from '../../../src/environments/aws/environment.ts'
import { REPO_ROOT } from '../../../src/util/node-entry.ts'
import { ACCOUNT, CLUSTER, EXISTING_TEMPLATE, REGION } from './fake-aws/account.ts'

export const DUMMY_KEY = 'AKIDGAMEDAYFAKE00000'
const DUMMY_SECRET = 'dummy-secret-for-the-fake-account'

export interface FakeEnvOptions {
  endpoint: string
  /** NATS client and monitoring ports, when real nats-servers stand in for the instances */
  nats?: { clientPort: number; monitorPort: number }
  pollInterval?: string
  maxPollInterval?: string
}

/** An environment file for the fake account; timings shrunk, limits as a careful SRE sets them. */
export function writeFakeEnvFile(dir: string, opts: FakeEnvOptions): string {
  const file = join(dir, 'fake-aws.yaml')
  const alarm = `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:game-prod-5xx`
  writeFileSync(
    file,
    `kind: aws
name: fake
region: ${REGION}
accountId: "${ACCOUNT}"
endpoint: ${opts.endpoint}
allow:
  accounts: ["${ACCOUNT}"]
  regions: [${REGION}]
  clusters: [${CLUSTER}]
  fisTemplates: [${EXISTING_TEMPLATE}]
azs: { az-a: ${REGION}a, az-b: ${REGION}b, az-c: ${REGION}c }
fis: { roleArn: "arn:aws:iam::${ACCOUNT}:role/gameday-fis", maxDuration: 30m }
stopConditions: ["${alarm}"]
limits: { maxTasks: 2, maxTaskPercent: 50, maxInstances: 1, maxAzs: 1 }
timeouts: { instance: 30s, replacement: 30s, taskRecovery: 30s, fisStart: 30s, fisStop: 30s, cacheRecovery: 30s }
pollInterval: ${opts.pollInterval ?? '50ms'}
maxPollInterval: ${opts.maxPollInterval ?? '200ms'}
ecs:
  cluster: ${CLUSTER}
  services:
    gateway: game-prod-gateway
    inventory: game-prod-inventory
    ai-integration: { tags: { "gameday:service": ai-integration } }
nats:
  core:
    instances: { tags: { "gameday:role": nats, "gameday:cluster": core }, nodeTag: "gameday:node" }
    killMode: stop
${opts.nats ? `    clientPort: ${opts.nats.clientPort}\n    monitor: { port: ${opts.nats.monitorPort}, scheme: http, address: privateIp }\n` : ''}subnets: { tags: { "gameday:tier": app } }
caches:
  cache:
    replicationGroupId: game-cache
    fisTargetTags: { "gameday:cache": game-cache }
    tls: false
    usedBy: [inventory]
`,
  )
  return file
}

/** SDK clients for the fake: its endpoint, dummy static credentials, the SDK's adaptive retries. */
export function fakeClients(endpoint: string): AwsClients {
  const config = { region: REGION, endpoint, credentials: { accessKeyId: DUMMY_KEY, secretAccessKey: DUMMY_SECRET }, retryMode: 'adaptive', maxAttempts: 3 }
  return {
    ecs: new ECSClient(config),
    ec2: new EC2Client(config),
    fis: new FisClient(config),
    cloudwatch: new CloudWatchClient(config),
    sts: new STSClient(config),
    elasticache: new ElastiCacheClient(config),
  }
}

/** The environment of a fake env file, in this process (as `gameday recover` would build it). */
export async function fakeEnvironment(file: string, endpoint: string): Promise<AwsEnvironment> {
  return new AwsEnvironment(await loadAwsConfig(file), { source: file, clients: fakeClients(endpoint) })
}

/** A child's environment: dummy credentials only, no way to a real profile or the metadata service. */
export function isolatedAwsEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v
  return {
    ...env,
    AWS_ACCESS_KEY_ID: DUMMY_KEY,
    AWS_SECRET_ACCESS_KEY: DUMMY_SECRET,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  }
}

export interface Gameday {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

/** `gameday <args>` as a child process (the build when it is current, else the sources: bin/gameday.js decides), output captured. */
export function gameday(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Gameday {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'gameday.js'), ...args], {
    cwd: opts.cwd,
    env: opts.env ?? isolatedAwsEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => out, exited }
}

/** Runs `gameday <args>` to its end. */
export async function gamedayDone(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; output: string }> {
  const g = gameday(args, opts)
  const code = await g.exited
  return { code, output: g.output() }
}
