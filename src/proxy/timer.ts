/**
 * A one-shot timer aimed at an absolute time on the `performance.now()` clock, sub-millisecond
 * accurate: Node's setTimeout works in whole milliseconds on a loop clock that may lag, so it
 * may fire up to ~1.5 ms late (or a little early). This one sleeps with setTimeout until about
 * a millisecond before the deadline and covers the rest with setImmediate turns, which cost a
 * little CPU only during that last millisecond. It never fires synchronously from `arm`.
 */
export const now = (): number => performance.now()

/** how close to the deadline counts as "there" (ms) */
export const EPSILON_MS = 0.02
/** below this much remaining time, poll with setImmediate instead of sleeping (ms) */
const SPIN_MS = 1.2

export class PreciseTimer {
  private due = 0
  private timeout: NodeJS.Timeout | null = null
  private immediate: NodeJS.Immediate | null = null

  constructor(private readonly fire: () => void) {}

  get armed(): boolean {
    return this.timeout !== null || this.immediate !== null
  }

  /** fire at `due` (performance.now() ms); re-arming replaces the previous deadline */
  arm(due: number): void {
    this.cancel()
    this.due = due
    this.schedule()
  }

  cancel(): void {
    if (this.timeout) clearTimeout(this.timeout)
    if (this.immediate) clearImmediate(this.immediate)
    this.timeout = null
    this.immediate = null
  }

  private schedule(): void {
    const remaining = this.due - now()
    if (remaining > SPIN_MS) {
      this.timeout = setTimeout(this.tick, Math.max(1, Math.floor(remaining - 1)))
      this.timeout.unref()
    } else {
      // not unref'd: an unref'd immediate lets the loop block in poll until some other event
      this.immediate = setImmediate(this.tick)
    }
  }

  private readonly tick = (): void => {
    this.timeout = null
    this.immediate = null
    if (this.due - now() <= EPSILON_MS) this.fire()
    else this.schedule()
  }
}

/** a plain millisecond timer (for delays where ±1 ms does not matter) that does not hold the process */
export function after(ms: number, fn: () => void): NodeJS.Timeout {
  const t = setTimeout(fn, Math.max(0, ms))
  t.unref()
  return t
}
