/**
 * Waiting for an environment to come up: poll until ready, but stop at once — never wait out
 * the deadline — when the check finds a reason it never will be (a process exited, a task keeps
 * failing). A check says so by throwing a GamedayError; any other error is a passing state
 * (nothing listens yet), reported only if the deadline comes.
 */
import { GamedayError } from '../api/errors.ts'
import { sleep, TimeoutError } from '../util/abort.ts'

export async function waitUnlessFailed<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value
    } catch (err) {
      if (err instanceof GamedayError) throw err
      lastError = err
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : ''
      throw new TimeoutError(`timed out after ${opts.timeoutMs}ms waiting for ${what}${why}`)
    }
    await sleep(opts.intervalMs ?? 100, opts.signal)
  }
}
