/**
 * What `plan` says a run will call on AWS is what the run calls: one experiment with every
 * fault that acts on AWS is planned, then run to its end against the fake account, and every
 * mutating call the fake received — rendered the way plan prints calls — must be one plan
 * printed, with the same parameters, and the other way round.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { defaultRegistry } from '../../src/builtins.ts'
import { planExperiment } from '../../src/engine/plan.ts'
import { runExperiment } from '../../src/engine/run.ts'
import { describeCreateTemplate } from '../../src/environments/aws/fis.ts'
import { loadExperiment } from '../../src/experiment/load.ts'
import { resetAccount, type Harness } from './support/crash.ts'
import type { LoggedCall } from './support/fake-aws/server.ts'
import { fakeEnvironment } from './support/fake-env.ts'
import { startHarness } from './support/harness.ts'

const METHOD = [
  { fault: 'nats.kill-node', target: { cluster: 'core', nodes: ['n1'] }, duration: '1s' },
  { fault: 'nats.stop-node', target: { cluster: 'core', az: 'az-b' }, duration: '1s' },
  { fault: 'service.stop-task', target: { service: 'inventory', count: 1 }, with: { grace: '5s', recoveryTimeout: '20s' } },
  { fault: 'service.kill-task', target: { service: 'gateway', count: 1 }, with: { recoveryTimeout: '20s' } },
  { fault: 'ecs.stop-task', target: { service: 'ai-integration', percent: 25 }, with: { recoveryTimeout: '20s' } },
  { fault: 'network.partition', target: { cluster: 'core', az: 'az-c' }, duration: '2s' },
  { fault: 'redis.throttle', target: { cache: 'cache' }, with: { latency: '300ms', jitter: '20ms' }, duration: '1s' },
  { fault: 'redis.down', target: { cache: 'cache' } }, // until the method ends: FIS holds it fis.maxDuration at most
  { fault: 'redis.az-power', target: { cache: 'cache' }, with: { duration: '2m' }, duration: '1s' },
  { fault: 'aws.fis-experiment', with: { templateId: 'EXTexisting0001' }, duration: '1s' },
  { fault: 'redis.failover', target: { cache: 'cache' } },
]

let h: Harness & { close(): Promise<void> }
beforeAll(async () => {
  h = await startHarness()
  await resetAccount(h)
}, 60_000)
afterAll(() => h?.close())

/** A call the fake received, as plan prints it. */
function asPlanned(c: LoggedCall): string {
  const i = c.input
  switch (c.operation) {
    case 'StopInstances':
      return `ec2:StopInstances InstanceIds=[${i.InstanceIds.join(',')}]${i.Force ? ' Force=true' : ''}`
    case 'StartInstances':
      return `ec2:StartInstances InstanceIds=[${i.InstanceIds.join(',')}]`
    case 'StopTask':
      return `ecs:StopTask cluster=${i.cluster} task=${i.task} reason="${i.reason}"`
    case 'TestFailover':
      return `elasticache:TestFailover ReplicationGroupId=${i.ReplicationGroupId} NodeGroupId=${i.NodeGroupId}`
    case 'CreateExperimentTemplate':
      return describeCreateTemplate(i as Parameters<typeof describeCreateTemplate>[0])
    case 'StartExperiment':
      return `fis:StartExperiment experimentTemplateId=${i.experimentTemplateId.startsWith('EXTgameday') ? '<created>' : i.experimentTemplateId} tags={gameday:run-id=${i.tags['gameday:run-id']},gameday:fault=${i.tags['gameday:fault']}}`
    case 'StopExperiment':
      return 'fis:StopExperiment id=<started>'
    case 'DeleteExperimentTemplate':
      return 'fis:DeleteExperimentTemplate id=<created>'
    default:
      return `${c.service}:${c.operation} ${JSON.stringify(i)}`
  }
}

/** A plan line that names an AWS call, without what it says around the call (why, when, where). */
function plannedCall(text: string): string | undefined {
  const m = /^would: (?:\d+\. )?((?:ec2|ecs|fis|elasticache):\S+.*)$/.exec(text)
  if (!m) return undefined
  return m[1]
    .replace(/ \((on revert|irreversible|on revert or abort|primary |[\w-]+ in az-)[^)]*\)/g, '')
    .replace(/ — .*$/, '')
    .replace(/, then wait for its replacement.*$/, '')
    .replace(/ \(actions: .*$/, '')
    .trim()
}

it('every mutating call the run makes is one plan printed, with the same parameters, and no other', async () => {
  const file = join(h.dir, 'every-aws-fault.yaml')
  writeFileSync(file, stringify({ name: 'every-aws-fault', seed: 11, method: METHOD.flatMap((s) => [s, { wait: '200ms' }]) }))
  const loaded = await loadExperiment(file, defaultRegistry())
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues))

  const planEnv = await fakeEnvironment(h.envFile, h.aws.endpoint)
  const plan = await planExperiment(loaded.loaded, planEnv, 11)
  await planEnv.close()
  const planText = plan.lines.map((l) => l.text).join('\n')
  expect(plan.refusals, planText).toEqual([])
  expect(h.aws.mutatingCalls(), 'plan mutates nothing').toEqual([])

  const env = await fakeEnvironment(h.envFile, h.aws.endpoint)
  const quiet = { info() {}, warn() {} }
  const outcome = await runExperiment({
    loaded: loaded.loaded,
    env,
    environmentName: h.envFile,
    seed: 11,
    reportsDir: join(h.dir, 'reports'),
    log: quiet,
    live: false,
  })
  await env.close()
  expect(outcome.status, JSON.stringify(outcome.result.faults)).toBe('passed')

  const runId = outcome.runId
  const planned = plan.lines
    .map((l) => plannedCall(l.text))
    .filter((c): c is string => !!c)
    .map((c) => c.replaceAll('<run-id>', runId).replace(/\bplan\b/g, runId))
  const made = h.aws.mutatingCalls().map(asPlanned)
  expect(made.length).toBeGreaterThan(20)
  expect([...made].sort()).toEqual([...planned].sort())
  // and the comparison would see a plan that names the wrong FIS duration (PT30M where the run sends PT1M)
  expect([...made].sort()).not.toEqual(planned.map((c) => c.replace('duration=PT1M', 'duration=PT30M')).sort())
  expect(new Set(h.aws.calls.map((c) => c.accessKeyId)).size).toBe(1)
}, 180_000)
