/** What the AWS-only faults share: the AWS capability of the environment, or a plain refusal. */
import { AWS, UnsupportedError, type AwsCapability, type FaultContext } from '../../../src/api/index.ts'

export function awsOf(ctx: FaultContext, faultType: string): AwsCapability {
  const aws = ctx.env.capability(AWS)
  if (!aws) throw new UnsupportedError(`${faultType} runs only with an AWS environment (--env aws), not ${ctx.env.kind}`)
  return aws
}
