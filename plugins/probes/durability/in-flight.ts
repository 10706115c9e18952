/**
 * Which operations a fault met: every operation's span (sent → answered, on the run clock), and
 * at each injection the operations in flight at any moment of the kill window — the `window` ms
 * before the injection was reported done, which covers the kill itself (a SIGKILL is reported a
 * few ms after it happens; an EC2 stop, seconds). An operation that was answered before the
 * window, or sent after the injection, was never at risk from it.
 *
 * An instant count would mostly read zero: by Little's law a stream taking 400 publishes/s at
 * 2 ms each has 0.8 in flight on average, and a killed leader's peers answer "no responders" at
 * once, so the instant after a kill is quiet. The window asks the question that matters.
 */
export interface Span {
  start: number
  /** Infinity while unanswered */
  end: number
}

export interface KillMet {
  t: number
  type: string
  inFlight: number
}

export class InFlightWindow {
  private spans: Span[] = []
  readonly kills: KillMet[] = []

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Call when an operation is sent; call the returned function when it is answered (or fails). */
  begin(): () => void {
    const span: Span = { start: this.now(), end: Infinity }
    this.spans.push(span)
    // only spans a future kill window can reach are kept
    if (this.spans.length > 4096) this.spans = this.spans.filter((s) => s.end >= this.now() - this.windowMs)
    return () => {
      span.end = this.now()
    }
  }

  /** An injection reported at `t`: counts the operations in flight during [t − window, t]. */
  injected(t: number, type: string): KillMet {
    const inFlight = this.spans.filter((s) => s.start <= t && s.end >= t - this.windowMs).length
    const met = { t, type, inFlight }
    this.kills.push(met)
    return met
  }
}
