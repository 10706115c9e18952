/**
 * Durations in experiments and probe or fault parameters: written "500ms", "10s", "2m", "1h"
 * (a bare number is milliseconds), parsed once, at validation, into milliseconds — so a probe's
 * `timeout` parameter is a number of ms, and a bad or overlong duration is an error with its
 * position before anything runs.
 *
 *   params: z.strictObject({ timeout: Duration.prefault('2s') })   // p.timeout === 2000
 */
import { z } from 'zod'
import { DURATION_PATTERN, parseDuration } from '../util/duration.ts'

export const Duration = z
  .union([z.string().regex(DURATION_PATTERN, 'a duration like 500ms, 10s or 2m'), z.number().nonnegative()])
  .transform((value, ctx) => {
    try {
      return parseDuration(value)
    } catch (err) {
      ctx.issues.push({ code: 'custom', input: value, message: (err as Error).message })
      return z.NEVER
    }
  })
  .describe('a duration: 500ms, 10s, 2m, 1h (a bare number is milliseconds); at most 24h')

export { parseDuration, formatDuration, writeDuration, MAX_DURATION_MS } from '../util/duration.ts'
