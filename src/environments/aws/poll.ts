/**
 * Waiting on AWS: poll a Describe/Get call until the answer is the one waited for. The first
 * pause is the file's `pollInterval`, later ones back off to `maxPollInterval` with jitter, so
 * a 90 s Fargate replacement costs a dozen calls, not hundreds. Errors of the call propagate:
 * an AccessDenied is not something to wait out.
 */
import { backoff, sleep, TimeoutError } from '../../util/abort.ts'
import type { AwsConfig } from './config.ts'

export interface PollOptions {
  timeoutMs: number
  signal?: AbortSignal
  /** what the timeout error says was still not so (read after the last check) */
  timeoutMessage: (timeoutMs: number) => string
}

/** Calls `check` until it returns a value (not undefined), pausing as the file says between calls. */
export async function pollUntil<T>(
  cfg: Pick<AwsConfig, 'pollInterval' | 'maxPollInterval'>,
  check: () => Promise<T | undefined>,
  opts: PollOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs
  const pause = backoff(cfg.pollInterval, { maxMs: cfg.maxPollInterval })
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    const left = deadline - Date.now()
    if (left <= 0) throw new TimeoutError(opts.timeoutMessage(opts.timeoutMs))
    await sleep(Math.min(pause(), left), opts.signal)
  }
}
