/**
 * Gameday's own history format for linearizability checks (JSONL): one JSON object per line, in
 * the order the events happened.
 *
 *     {"process":1,"type":"invoke","f":"cas","key":"k1","value":[3,0],"time":123.456}
 *     {"process":1,"type":"ok","f":"cas","key":"k1","value":[3,0],"time":124.001}
 *
 * - `process`: integer client id. A process has at most one invocation open at a time.
 * - `type`: `invoke`, then one of `ok` (completed), `fail` (completed without effect; for `cas`
 *   the compare failed, i.e. the value was not `from`), `info` (outcome unknown: timed out,
 *   connection lost — it may have taken effect at any time after the invocation, or never).
 *   An invocation with no completion by the end of the file counts as `info`.
 * - `f`: `read` / `write` / `cas` (model cas-register) or `get` / `put` / `append` (model kv).
 * - `key`: optional string; present = the history is checked per key.
 * - `value`: on invoke, the argument (`write` / `put` / `append` value, `[from, to]` for `cas`,
 *   `null` for reads); on `ok` of a `read` / `get`, the value read (`null` = nil / unset).
 *   Values are numbers, strings or null.
 * - `time`: monotonic milliseconds (e.g. performance.now() or process.hrtime), non-decreasing
 *   through the file; optional (the line number is used when absent). Events at equal times
 *   count as concurrent.
 * - `timedOut`: optional boolean on a `fail`, makes it indeterminate like `info`.
 * Lines starting with `#` and empty lines are ignored.
 */
import { HistoryBuilder, type EventType } from './builder.ts'
import type { KeyedOp } from '../linearizability/models/values.ts'

const TYPES = new Set(['invoke', 'ok', 'fail', 'info'])

export interface JsonlEvent {
  process: number
  type: EventType
  f: string
  key?: string
  value?: unknown
  time?: number
  timedOut?: boolean
}

export function parseJsonlHistory(text: string, file: string): KeyedOp[] {
  const b = new HistoryBuilder(file)
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === '' || line.startsWith('#')) continue
    let e: JsonlEvent
    try {
      e = JSON.parse(line)
    } catch (err) {
      throw b.error(i + 1, `invalid JSON: ${(err as Error).message}`)
    }
    if (e === null || typeof e !== 'object') throw b.error(i + 1, 'expected a JSON object')
    if (!Number.isInteger(e.process)) throw b.error(i + 1, '"process" must be an integer')
    if (!TYPES.has(e.type)) throw b.error(i + 1, '"type" must be "invoke", "ok", "fail" or "info"')
    if (typeof e.f !== 'string') throw b.error(i + 1, '"f" must be a string')
    if (e.key !== undefined && typeof e.key !== 'string') throw b.error(i + 1, '"key" must be a string')
    if (e.time !== undefined && typeof e.time !== 'number') throw b.error(i + 1, '"time" must be a number')
    b.add({
      process: e.process,
      type: e.type,
      f: e.f,
      key: e.key,
      value: e.value === undefined ? null : e.value,
      time: e.time ?? i + 1,
      line: i + 1,
      timedOut: e.timedOut === true,
    })
  }
  return b.finish()
}

/** One line of the format, for writers (the CAS probe). */
export function formatJsonlEvent(e: JsonlEvent): string {
  return JSON.stringify(e)
}
