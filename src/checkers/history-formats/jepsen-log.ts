/**
 * Jepsen's log of a register test (the etcd test of the Porcupine / ahorn corpus), one event a
 * line:
 *     INFO  jepsen.util - 2	:invoke	:cas	[3 0]
 *     INFO  jepsen.util - 2	:fail	:cas	[3 0]
 *     INFO  jepsen.util - 4	:info	:write	:timed-out
 * process id, `:invoke` / `:ok` / `:fail` / `:info`, `:read` / `:write` / `:cas`, then the value
 * (`nil`, a number, `[from to]` for cas, or `:timed-out`). Time = line number.
 * `:fail :read :timed-out` = a read whose outcome is unknown (indeterminate, dropped by the model).
 */
import { HistoryBuilder, type EventType } from './builder.ts'
import { Keyword, readEdn } from './edn.ts'
import type { KeyedOp } from '../linearizability/models/values.ts'

const LINE = /^\s*INFO\s+jepsen\.util\s+-\s+(\S+)\s+:(invoke|ok|fail|info)\s+:([\w.?!*-]+)\s*(.*?)\s*$/

export function isJepsenLogLine(line: string): boolean {
  return /^\s*INFO\s+jepsen\.util\s+-\s/.test(line)
}

export function parseJepsenLog(text: string, file: string): KeyedOp[] {
  const b = new HistoryBuilder(file)
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line.trim() === '') continue
    const m = LINE.exec(line)
    if (!m) {
      if (isJepsenLogLine(line)) continue // other jepsen.util output (e.g. nemesis lines)
      throw b.error(i + 1, `not a jepsen.util event line: ${JSON.stringify(line.slice(0, 80))}`)
    }
    const process = Number(m[1])
    if (!Number.isInteger(process)) continue // :nemesis
    let value: unknown = null
    if (m[4] !== '') {
      try {
        value = readEdn(m[4])
      } catch (err) {
        throw b.error(i + 1, `bad value ${JSON.stringify(m[4])}: ${(err as Error).message}`)
      }
    }
    const timedOut = value instanceof Keyword
    b.add({
      process,
      type: m[2] as EventType,
      f: m[3],
      value: timedOut ? null : value,
      time: i + 1,
      line: i + 1,
      timedOut,
    })
  }
  return b.finish()
}
