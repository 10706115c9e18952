/**
 * A plan against an AWS environment it could not discover says plainly why — the cause, with
 * what to do — and refuses: credentials of another account are an AllowListError (a guardrail:
 * plan exits non-zero today); missing credentials a DiscoveryError, shown in place of every
 * target (plan.ts must still count it as a refusal: the `.fails` test below flips then).
 */
import { join } from 'node:path'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultRegistry } from '../../src/builtins.ts'
import { planExperiment } from '../../src/engine/plan.ts'
import { loadExperiment } from '../../src/experiment/load.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'
import { FakeAws } from './support/mocked-account.ts'

let aws: FakeAws
beforeEach(() => {
  aws = new FakeAws()
})
afterEach(() => aws.restore())

async function plan() {
  const loaded = await loadExperiment(join(REPO_ROOT, 'experiments', 'nats-az-loss.yaml'), defaultRegistry())
  if (!loaded.ok) throw new Error('invalid')
  const { lines, refusals } = await planExperiment(loaded.loaded, aws.environment(), 1)
  return { text: lines.map((l) => l.text).join('\n'), refusals }
}

describe('plan --env aws when discovery fails', () => {
  it('credentials of another account: refused, with the account and what to do, and no other call', async () => {
    aws.account = '999999999999'
    const { text, refusals } = await plan()
    expect(refusals).toEqual([
      'method[1]: the AWS credentials belong to account 999999999999, which is not in allow.accounts [123456789012]: use credentials for 123456789012 (AWS_PROFILE)',
    ])
    expect(text).toMatch(/REFUSED: the AWS credentials belong to account 999999999999/)
    expect(new Set(aws.commands())).toEqual(new Set(['GetCallerIdentity']))
  })

  const noCredentials = () =>
    aws.mocks.sts
      .on(GetCallerIdentityCommand)
      .rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }))

  it('no credentials: every target shows the cause and what to do, not "not discovered"', async () => {
    noCredentials()
    const { text } = await plan()
    expect(text).toMatch(/no usable AWS credentials for account 123456789012 in eu-west-1 \(Could not load credentials from any providers\)\. Log in/)
    expect(text).not.toMatch(/has not been discovered/)
    expect(aws.mutatingCalls()).toEqual([])
  })

  // Flips when engine/plan.ts counts a DiscoveryError as a refusal (plan exits non-zero): then drop `.fails`.
  it.fails('no credentials: plan exits non-zero (waits on plan.ts)', async () => {
    noCredentials()
    expect((await plan()).refusals.length).toBeGreaterThan(0)
  })
})
