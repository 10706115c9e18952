/**
 * JSON-lines logging on stdout. Every line carries `at` (ISO time), `service`, `task` and
 * `event`. Writes to a pipe or file are synchronous on Linux, so a line logged just before
 * `process.exit` is not lost.
 */
export type LogFields = Record<string, unknown>

export interface Logger {
  (event: string, fields?: LogFields): void
  error(event: string, err: unknown, fields?: LogFields): void
}

export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return { error: err.message, errorName: err.name, ...(code !== undefined ? { errorCode: code } : {}) }
  }
  return { error: String(err) }
}

export function createLogger(base: { service: string; task: string; az?: string }): Logger {
  const write = (event: string, level: string, fields?: LogFields) => {
    const line = { at: new Date().toISOString(), level, service: base.service, task: base.task, event, ...fields }
    process.stdout.write(`${JSON.stringify(line)}\n`)
  }
  const log = ((event: string, fields?: LogFields) => write(event, 'info', fields)) as Logger
  log.error = (event, err, fields) => write(event, 'error', { ...fields, ...errorFields(err) })
  return log
}

/** Calls `log` at most once per `intervalMs` for a given key, counting what it suppressed. */
export function throttled(intervalMs: number): (key: string, emit: (suppressed: number) => void) => void {
  const last = new Map<string, { at: number; suppressed: number }>()
  return (key, emit) => {
    const now = Date.now()
    const entry = last.get(key)
    if (entry && now - entry.at < intervalMs) {
      entry.suppressed++
      return
    }
    emit(entry?.suppressed ?? 0)
    last.set(key, { at: now, suppressed: 0 })
  }
}
