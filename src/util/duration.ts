/** Durations as written in experiments: "250ms", "10s", "2m", "1h", or a bare number of milliseconds. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/

export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid duration ${value}`)
    return value
  }
  const match = DURATION_PATTERN.exec(value.trim())
  if (!match) throw new Error(`invalid duration "${value}" (expected e.g. 500ms, 10s, 2m)`)
  return Number(match[1]) * UNITS[match[2]]
}

export function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(3)}ms`
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`
}
