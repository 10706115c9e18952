/**
 * Every shipped experiment plans cleanly against the AWS environment — targets resolved by
 * Describe/List/Get calls only, every mutating call listed, none made. AWS is the one thing
 * mocked (aws-sdk-client-mock, behind FakeAws); the blast-radius limits are raised the way an
 * SRE would for a game day that takes down a whole AZ.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { captureLog, FakeAws, testConfig } from '../../src/environments/aws/test-support.ts'
import { loadExperiment } from '../../src/experiment/load.ts'
import { defaultRegistry } from '../../src/builtins.ts'
import { planExperiment } from '../../src/engine/plan.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

const experiments = readdirSync(join(REPO_ROOT, 'experiments')).filter((f) => f.endsWith('.yaml'))

/** faults that have no AWS counterpart: plan must say so, plainly, instead of failing later */
const NOT_ON_AWS: Record<string, RegExp> = {
  'redis-cas-restart.yaml': /the aws environment cannot kill a cache server \(on aws: redis\.failover promotes a replica/,
}

let aws: FakeAws
beforeEach(() => {
  aws = new FakeAws()
})
afterEach(() => aws.restore())

describe('plan --env aws for every shipped experiment', () => {
  it.each(experiments)('%s', async (file) => {
    const loaded = await loadExperiment(join(REPO_ROOT, 'experiments', file), defaultRegistry())
    expect(loaded.ok, JSON.stringify(!loaded.ok && loaded.issues)).toBe(true)
    if (!loaded.ok) return
    const env = aws.environment(
      testConfig((c) => {
        c.limits.maxInstances = 2 // an AZ holds two NATS nodes
        c.limits.maxTasks = 4
      }),
    )
    await env.up(captureLog())
    const { lines, refusals } = await planExperiment(loaded.loaded, env, 1)
    const text = lines.map((l) => l.text).join('\n')
    expect(refusals, text).toEqual([])
    expect(aws.mutatingCalls(), text).toEqual([])
    if (NOT_ON_AWS[file]) expect(text).toMatch(NOT_ON_AWS[file])
    else expect(text).not.toMatch(/resolved at injection \((?!cluster core has no)/) // only live roles may wait for injection
  })
})
