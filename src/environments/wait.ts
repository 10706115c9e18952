/**
 * Waiting for an environment to come up: poll until ready, but stop at once — never wait out
 * the deadline — when the check finds a reason it never will be (a process exited, a task keeps
 * failing). A check says so by throwing a GamedayError; any other error is a passing state
 * (nothing listens yet), reported only if the deadline comes.
 */
import { GamedayError } from '../api/errors.ts'
import { waitFor } from '../util/abort.ts'

export function waitUnlessFailed<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<T> {
  return waitFor(what, check, { ...opts, isFatal: (err) => err instanceof GamedayError })
}
