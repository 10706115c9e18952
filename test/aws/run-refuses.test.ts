/**
 * A run on AWS refuses what AWS cannot do before its first mutating call — as plan does — not
 * half-way: kv-cas-under-kill's shape (a node kill, then a pause) must not stop and start an EC2
 * instance and only then fail on the pause. The fault itself refuses at resolve (UnsupportedError),
 * and the run looks at every step, as plan does, before the first one acts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { defaultRegistry } from '../../src/builtins.ts'
import { runExperiment } from '../../src/engine/run.ts'
import { loadExperiment } from '../../src/experiment/load.ts'
import { FakeAccount } from './support/fake-aws/account.ts'
import { FakeAwsServer } from './support/fake-aws/server.ts'
import { fakeEnvironment, writeFakeEnvFile } from './support/fake-env.ts'

let dir: string
let aws: FakeAwsServer
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-aws-refuse-'))
  aws = await FakeAwsServer.start(new FakeAccount({ stepMs: 20 }))
})
afterAll(async () => {
  await aws?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function run(method: unknown[]) {
  const file = join(dir, 'refused.yaml')
  writeFileSync(file, stringify({ name: 'refused-on-aws', seed: 1, method }))
  const loaded = await loadExperiment(file, defaultRegistry())
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues))
  const env = await fakeEnvironment(writeFakeEnvFile(dir, { endpoint: aws.endpoint }), aws.endpoint)
  aws.clearCalls()
  const outcome = await runExperiment({
    loaded: loaded.loaded,
    env,
    environmentName: 'fake',
    reportsDir: join(dir, 'reports'),
    log: { info() {}, warn() {} },
    live: false,
  })
  await env.close()
  return outcome
}

it('a step AWS cannot do fails the run before any call that mutates, when it comes first', async () => {
  const outcome = await run([{ fault: 'nats.pause-node', target: { cluster: 'core', nodes: ['n3'] }, duration: '1s' }])
  expect(outcome.status).toBe('errored')
  expect(aws.mutatingCalls()).toEqual([])
})

// engine/run.ts looks at every fault step (as plan does) before the first one acts
it('a step AWS cannot do refuses the whole run before any call that mutates, wherever it is', async () => {
  const outcome = await run([
    { fault: 'nats.kill-node', target: { cluster: 'core', nodes: ['n1'] }, duration: '1s' },
    { fault: 'nats.pause-node', target: { cluster: 'core', nodes: ['n3'] }, duration: '1s' },
  ])
  expect(outcome.status).toBe('errored')
  expect(aws.mutatingCalls()).toEqual([])
})
