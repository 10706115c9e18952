/** What the AWS-only faults share: the AWS environment behind ctx.env, and durations. */
import { GamedayError } from '../../api/errors.ts'
import type { FaultContext } from '../../api/fault.ts'
import type { AwsEnvironment } from '../../environments/aws/environment.ts'
import { parseDuration } from '../../util/duration.ts'
import { z } from 'zod'

export function awsEnvironment(ctx: FaultContext, faultType: string): AwsEnvironment {
  const aws = ctx.env.extension<AwsEnvironment>('aws')
  if (!aws) throw new GamedayError(`${faultType} runs only with an AWS environment (--env aws), not ${ctx.env.kind}`)
  return aws
}

/** "5m", "30s" or milliseconds, as experiments write durations. */
export const DurationParam = z.union([z.string(), z.number()]).refine(
  (value) => {
    try {
      parseDuration(value)
      return true
    } catch {
      return false
    }
  },
  { message: 'a duration such as 500ms, 30s, 5m' },
)

export function ms(value: string | number): number {
  return parseDuration(value)
}
