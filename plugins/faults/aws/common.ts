/** What the AWS-only faults share: the AWS environment behind ctx.env. */
// eslint-disable-next-line gameday/plugins-use-public-api -- TEMPORARY (issue 10): replaced by a typed capability / runtime schemas
import type { AwsEnvironment } from '../../../src/environments/aws/environment.ts'
import { capability, GamedayError, type FaultContext } from '../../../src/api/index.ts'

// TEMPORARY (issue 10): the key will type a public AwsCapability interface, not the environment class
const AWS = capability<AwsEnvironment>('aws')

export function awsEnvironment(ctx: FaultContext, faultType: string): AwsEnvironment {
  const aws = ctx.env.capability(AWS)
  if (!aws) throw new GamedayError(`${faultType} runs only with an AWS environment (--env aws), not ${ctx.env.kind}`)
  return aws
}
