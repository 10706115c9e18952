/**
 * Every shipped experiment plans against the AWS environment — targets resolved by
 * Describe/List/Get calls only, every mutating call listed, none made — and what a run on AWS
 * would refuse is refused at plan, with its reason, by a typed error. AWS is the one thing
 * mocked (aws-sdk-client-mock, behind FakeAws); the blast-radius limits are raised the way an
 * SRE would for a game day that takes down a whole AZ.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { captureLog, FakeAws, faultContext, testConfig } from './support/mocked-account.ts'
import { loadExperiment, type LoadedExperiment } from '../../src/experiment/load.ts'
import { isComposite, type FaultStep, type Step } from '../../src/experiment/steps.ts'
import { defaultRegistry } from '../../src/builtins.ts'
import { planExperiment } from '../../src/engine/plan.ts'
import { UnsupportedError } from '../../src/api/errors.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

const experiments = readdirSync(join(REPO_ROOT, 'experiments')).filter((f) => f.endsWith('.yaml'))

/** what a run on AWS refuses, and why: plan must say so before anything runs */
const REFUSED_ON_AWS: Record<string, { fault: string; why: RegExp }> = {
  'kv-cas-under-kill.yaml': { fault: 'nats.pause-node', why: /AWS cannot freeze a NATS server: EC2 has no pause/ },
  'nats-lame-duck.yaml': { fault: 'nats.lame-duck', why: /AWS cannot put a NATS server into lame duck mode/ },
  'redis-cas-restart.yaml': { fault: 'redis.kill', why: /the aws environment cannot kill a cache server \(on aws: redis\.failover promotes a replica/ },
  // the production shape's experiments: TLS faults need the environment's own CA, cluster faults its nodes
  'nats-expired-certificate.yaml': { fault: 'nats.bad-certificate', why: /nats\.bad-certificate needs the nats-tls capability, which the aws environment/ },
  'nats-tls-rotation.yaml': { fault: 'nats.rotate-certificate', why: /nats\.rotate-certificate needs the nats-tls capability, which the aws environment/ },
  'redis-cluster-cas-failover.yaml': {
    fault: 'redis.isolate-primary',
    why: /redis\.isolate-primary: the aws environment cannot drive a cluster's nodes; on aws, fail a shard over with redis\.failover \(ElastiCache TestFailover/,
  },
}

let aws: FakeAws
beforeEach(() => {
  aws = new FakeAws()
})
afterEach(() => aws.restore())

async function load(file: string): Promise<LoadedExperiment> {
  const loaded = await loadExperiment(join(REPO_ROOT, 'experiments', file), defaultRegistry())
  expect(loaded.ok, JSON.stringify(!loaded.ok && loaded.issues)).toBe(true)
  if (!loaded.ok) throw new Error('invalid experiment')
  return loaded.loaded
}

async function discovered() {
  const env = aws.environment(
    testConfig((c) => {
      c.limits.maxInstances = 2 // an AZ holds two NATS nodes
      c.limits.maxTasks = 4
    }),
  )
  await env.up(captureLog())
  return env
}

function faultSteps(steps: Step[]): FaultStep[] {
  return steps.flatMap((s) => (s.kind === 'fault' ? [s] : isComposite(s) ? faultSteps(s.steps) : []))
}

describe('plan --env aws for every shipped experiment', () => {
  it.each(experiments)('%s', async (file) => {
    const loaded = await load(file)
    const env = await discovered()
    const { lines, refusals } = await planExperiment(loaded, env, 1)
    const text = lines.map((l) => l.text).join('\n')
    expect(aws.mutatingCalls(), text).toEqual([])
    if (REFUSED_ON_AWS[file]) {
      // refused with its reason, so plan exits non-zero, before a run could stop or start anything
      expect(refusals.join('\n'), text).toMatch(REFUSED_ON_AWS[file].why)
      expect(text).toMatch(new RegExp(`REFUSED: ${REFUSED_ON_AWS[file].why.source}`))
    } else {
      expect(refusals, text).toEqual([])
      expect(text).not.toMatch(/resolved at injection \((?!cluster core has no)/) // only live roles may wait for injection
    }
  })
})

describe('what a run on AWS refuses, the AWS side refuses with a typed error before any call that mutates', () => {
  it.each(Object.entries(REFUSED_ON_AWS))('%s: %o', async (file, { fault, why }) => {
    const loaded = await load(file)
    const env = await discovered()
    const step = faultSteps(loaded.experiment.method).find((s) => s.fault === fault)!
    const type = loaded.registry.fault(fault)!
    const spec = { type: fault, target: step.target, params: type.params.parse(step.with) }
    const refusal = type.resolve(faultContext(env), spec)
    await expect(refusal).rejects.toBeInstanceOf(UnsupportedError)
    await expect(type.resolve(faultContext(env), spec)).rejects.toThrow(why)
    expect(aws.mutatingCalls()).toEqual([])
  })
})
