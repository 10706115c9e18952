/** Durations as written in experiments: "250ms", "10s", "2m", "1h", or a bare number of milliseconds. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/

/**
 * The longest duration an experiment may give. Node's timers hold at most 2^31-1 ms (~24.8
 * days) and fire at once beyond it, so `wait: 700h` would pass in 1 ms; a game day is hours,
 * not days, so one day is the bound and anything longer is an input error.
 */
export const MAX_DURATION_MS = 24 * 3_600_000

export function parseDuration(value: string | number): number {
  let ms: number
  if (typeof value === 'number') ms = value
  else {
    const match = DURATION_PATTERN.exec(value.trim())
    if (!match) throw new Error(`invalid duration "${value}" (expected e.g. 500ms, 10s, 2m)`)
    ms = Number(match[1]) * UNITS[match[2]]
  }
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`invalid duration ${value}`)
  if (ms > MAX_DURATION_MS) throw new Error(`duration ${value} is longer than the 24h a step, probe or guardrail may last`)
  return ms
}

/** For live figures: a fixed number of significant digits ("1.25s", "12.3s", "2m5s"). */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(3)}ms`
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`
}

/** As an experiment writes it: the shortest exact form ("500ms", "3s", "4m", "1m30s", "1.5s"). */
export function writeDuration(ms: number): string {
  if (ms === 0) return '0s'
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const rest = ms % 60_000
  if (rest % 1000 !== 0 && ms < 60_000) return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`
  const s = rest / 1000
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`
}
