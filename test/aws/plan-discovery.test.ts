/**
 * A plan against an AWS environment it could not discover says plainly why — the cause, with
 * what to do — and refuses (exit non-zero): credentials of another account are an
 * AllowListError, missing credentials a DiscoveryError; neither is "not up: run starts it".
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
    expect(refusals.join('\n')).toMatch(
      /the AWS credentials belong to account 999999999999, which is not in allow.accounts \[123456789012\]: use credentials for 123456789012 \(AWS_PROFILE\)/,
    )
    expect(text).toMatch(/REFUSED: .*belong to account 999999999999/)
    expect(text).not.toMatch(/not up: `run` starts it/)
    expect(new Set(aws.commands())).toEqual(new Set(['GetCallerIdentity']))
  })

  it('no credentials: refused with the cause and what to do, not "not discovered" and not "not up"', async () => {
    aws.mocks.sts
      .on(GetCallerIdentityCommand)
      .rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }))
    const { text, refusals } = await plan()
    expect(refusals.length).toBeGreaterThan(0)
    expect(refusals[0]).toMatch(/no usable AWS credentials for account 123456789012 in eu-west-1 \(Could not load credentials from any providers\)\. Log in/)
    expect(text).not.toMatch(/has not been discovered|not up: `run` starts it/)
    expect(aws.mutatingCalls()).toEqual([])
  })
})
