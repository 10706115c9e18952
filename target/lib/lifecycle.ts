/**
 * In-flight work tracking and the graceful stop every task performs on SIGTERM (or SIGINT):
 *
 *   {"event":"draining","inFlight":N}
 *   stop taking new work → wait for in-flight work → release resources (nc.drain())
 *   {"event":"stopped","inFlightAtStop":N,"drainedMs":M,"abandoned":0}   then exit 0
 *
 * The whole sequence is bounded by STOP_GRACE_MS minus a safety margin, so the process exits
 * by itself before the supervisor's SIGKILL; work still running at that deadline is counted
 * in `abandoned`. With GAMEDAY_BROKEN=no-drain the task logs and exits at once, dropping
 * whatever was in flight (`dropped`).
 */
import type { TaskEnv } from './env.ts'
import type { Logger } from './log.ts'

export class InFlight {
  #count = 0
  #idle: Array<() => void> = []

  get count(): number {
    return this.#count
  }

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.#count++
    try {
      return await work()
    } finally {
      this.#count--
      if (this.#count === 0) for (const wake of this.#idle.splice(0)) wake()
    }
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }
}

export interface StopSteps {
  /** stop accepting new work (close the HTTP server, unsubscribe the service endpoints) */
  stopAccepting(): Promise<void> | void
  /** after in-flight work is done: release resources (drain the NATS connection, quit Redis) */
  release(): Promise<void> | void
}

/** Races `work` against an absolute deadline; true if it finished in time. */
async function before(deadline: number, work: Promise<unknown>): Promise<boolean> {
  const ms = deadline - Date.now()
  if (ms <= 0) return false
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      timeout,
    ])
  } finally {
    clearTimeout(timer)
  }
}

export function installGracefulStop(env: TaskEnv, log: Logger, inFlight: InFlight, steps: StopSteps): void {
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    const started = Date.now()
    const inFlightAtStop = inFlight.count
    log('draining', { signal, inFlight: inFlightAtStop })
    if (env.broken.has('no-drain')) {
      log('stopped', { inFlightAtStop, drainedMs: 0, dropped: inFlight.count, broken: 'no-drain' })
      process.exit(0)
    }
    const margin = Math.min(1_000, Math.floor(env.stopGraceMs * 0.1))
    const deadline = started + Math.max(0, env.stopGraceMs - margin)
    // Backstop: whatever hangs, exit before the supervisor's SIGKILL.
    const backstop = setTimeout(
      () => {
        log('stopped', { inFlightAtStop, drainedMs: Date.now() - started, abandoned: inFlight.count, timedOut: true })
        process.exit(0)
      },
      Math.max(0, deadline - Date.now()) + 50,
    )
    try {
      await before(
        deadline,
        Promise.resolve().then(() => steps.stopAccepting()),
      )
      const drained = await before(deadline, inFlight.idle())
      const abandoned = inFlight.count
      await before(
        deadline,
        Promise.resolve().then(() => steps.release()),
      )
      clearTimeout(backstop)
      log('stopped', { inFlightAtStop, drainedMs: Date.now() - started, abandoned, ...(drained ? {} : { timedOut: true }) })
    } catch (err) {
      log.error('stop-failed', err)
    }
    process.exit(0)
  }
  // `on`, not `once`: a second signal must not fall back to the default (immediate death).
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

/** Unexpected errors end the task with a JSON `fatal` line and exit code 1 (the supervisor restarts it). */
export function installCrashHandlers(log: Logger): void {
  process.on('uncaughtException', (err) => fatal(log, err))
  process.on('unhandledRejection', (err) => fatal(log, err))
}

/** Crash loudly on a failure at startup (the supervisor restarts the task). */
export function fatal(log: Logger, err: unknown): never {
  log.error('fatal', err)
  process.exit(1)
}
