/**
 * Pairs invocation and completion events per process into operations, the way Jepsen histories
 * are read: a process has at most one open invocation; its next `ok` / `fail` / `info` event for
 * the same function completes it. An invocation with no completion by the end of the history is
 * indeterminate (`info`, return = +Infinity), as is an `info` completion. A `fail` whose value is
 * `:timed-out` is indeterminate too (Jepsen's etcd client logs a timed-out read that way).
 */
import type { KeyedInput, KeyedOp } from '../linearizability/models/values.ts'
import type { OpStatus } from '../linearizability/model.ts'

export class HistoryParseError extends Error {
  override name = 'HistoryParseError'
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`)
  }
}

export type EventType = 'invoke' | 'ok' | 'fail' | 'info'

export interface HistoryEvent {
  process: number
  type: EventType
  f: string
  key?: string
  value: unknown
  time: number
  line: number
  /** the completion says the outcome is unknown (e.g. `:timed-out`) */
  timedOut?: boolean
}

export class HistoryBuilder {
  private readonly open = new Map<number, { op: KeyedOp; f: string }>()
  readonly ops: KeyedOp[] = []
  private lastTime = -Infinity

  constructor(private readonly file: string) {}

  error(line: number, reason: string): HistoryParseError {
    return new HistoryParseError(this.file, line, reason)
  }

  add(e: HistoryEvent): void {
    if (!Number.isFinite(e.time)) throw this.error(e.line, `invalid time ${e.time}`)
    if (e.time < this.lastTime) throw this.error(e.line, `time ${e.time} goes backwards (previous event at ${this.lastTime})`)
    this.lastTime = e.time
    const pending = this.open.get(e.process)
    if (e.type === 'invoke') {
      if (pending) {
        throw this.error(e.line, `process ${e.process} invokes ${e.f} while its ${pending.f} of line ${pending.op.line} is still open`)
      }
      const input: KeyedInput = { f: e.f, value: e.value }
      if (e.key !== undefined) input.key = e.key
      checkInput(this, e, input)
      const op: KeyedOp = { process: e.process, call: e.time, return: Infinity, status: 'info', input, output: undefined, line: e.line }
      this.ops.push(op)
      this.open.set(e.process, { op, f: e.f })
      return
    }
    if (!pending) throw this.error(e.line, `process ${e.process} completes ${e.f} (${e.type}) without an invocation`)
    if (pending.f !== e.f) {
      throw this.error(e.line, `process ${e.process} completes ${e.f} but invoked ${pending.f} (line ${pending.op.line})`)
    }
    this.open.delete(e.process)
    const op = pending.op
    let status: OpStatus = e.type
    if (status === 'fail' && e.timedOut) status = 'info'
    op.status = status
    if (status === 'info') return // return stays +Infinity: it may take effect any time after its call
    op.return = e.time
    op.output = e.value
  }

  /** Operations in invocation order; open invocations stay indeterminate. */
  finish(): KeyedOp[] {
    this.open.clear()
    return this.ops
  }
}

function checkInput(b: HistoryBuilder, e: HistoryEvent, input: KeyedInput): void {
  if (e.f === 'cas') {
    const v = input.value
    if (!Array.isArray(v) || v.length !== 2) throw b.error(e.line, `cas needs a [from to] value, got ${JSON.stringify(v)}`)
  }
}
