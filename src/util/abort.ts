/** Sleep that wakes early (and rejects) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'))
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason ?? new Error('aborted'))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Sleep that ends early, without an error, when the signal aborts (a probe's pause between samples). */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, signal).catch(() => {
    // the abort is the caller's to notice (signal.aborted): waking early is the point
  })
}

export class TimeoutError extends Error {
  override name = 'TimeoutError'
}

/** Runs `work` with a deadline; the work receives a signal that aborts at the deadline. */
export async function withTimeout<T>(what: string, ms: number, work: (signal: AbortSignal) => Promise<T>, parent?: AbortSignal): Promise<T> {
  const controller = new AbortController()
  const onParentAbort = () => controller.abort(parent!.reason)
  parent?.addEventListener('abort', onParentAbort, { once: true })
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TimeoutError(`${what} timed out after ${ms}ms`)
      controller.abort(err)
      reject(err)
    }, ms)
  })
  try {
    return await Promise.race([work(controller.signal), deadline])
  } finally {
    clearTimeout(timer)
    parent?.removeEventListener('abort', onParentAbort)
  }
}

/**
 * The pauses between polls: the first is `intervalMs`, each next one `factor` times longer up to
 * `maxMs`, every one spread by ±`jitter` (a fraction) so that pollers started together do not
 * stay in step — what a rate-limited API (AWS) asks of its callers.
 */
export function backoff(intervalMs: number, opts: { maxMs?: number; factor?: number; jitter?: number; random?: () => number } = {}): () => number {
  const maxMs = Math.max(intervalMs, opts.maxMs ?? intervalMs)
  const factor = opts.factor ?? 1.5
  const jitter = opts.jitter ?? 0.2
  const random = opts.random ?? Math.random
  let next = intervalMs
  return () => {
    const base = next
    next = Math.min(maxMs, next * factor)
    return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))))
  }
}

/**
 * Polls `check` until it returns a truthy value or the deadline passes. An error the check throws
 * counts as "not yet" (and is named if the deadline comes) unless `isFatal` says it means "never",
 * which ends the wait at once with that error.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal; isFatal?: (err: unknown) => boolean },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value
    } catch (err) {
      if (opts.isFatal?.(err)) throw err
      lastError = err
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : ''
      throw new TimeoutError(`timed out after ${opts.timeoutMs}ms waiting for ${what}${why}`)
    }
    await sleep(opts.intervalMs ?? 100, opts.signal)
  }
}
