/**
 * Writing and reading the journal (reports/<run-id>/journal.jsonl).
 * Each event is written with a synchronous append so it is in the OS before the next action
 * starts; fault events are also fsync'ed, because `gameday recover` depends on them surviving
 * even a machine crash.
 */
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs'
import type { JournalEvent } from './events.ts'
import { ValidationError } from '../api/errors.ts'

type Distribute<T> = T extends unknown ? Omit<T, 'at' | 't'> : never
export type NewEvent = Distribute<JournalEvent>

const DURABLE = new Set(['fault.injecting', 'fault.checkpoint', 'fault.injected', 'fault.reverted', 'run.ended'])

export class JournalWriter {
  private fd: number | null
  private readonly t0 = performance.now()
  private readonly listeners: ((e: JournalEvent) => void)[] = []

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a')
  }

  /** ms since the journal was opened (the run's monotonic clock) */
  now(): number {
    return performance.now() - this.t0
  }

  append(event: NewEvent): JournalEvent {
    const full = { at: new Date().toISOString(), t: Math.round(this.now() * 10) / 10, ...event } as JournalEvent
    if (this.fd !== null) {
      writeSync(this.fd, JSON.stringify(full) + '\n')
      if (DURABLE.has(event.type)) fsyncSync(this.fd)
    }
    for (const l of this.listeners) l(full)
    return full
  }

  onEvent(listener: (e: JournalEvent) => void): void {
    this.listeners.push(listener)
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd)
      this.fd = null
    }
  }
}

/**
 * A journal that cannot be read: where (file:line, line 0 for the file as a whole), what is
 * wrong, and what to do. The CLI prints `message` as it is.
 */
export class JournalError extends ValidationError {
  override name = 'JournalError'
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
    readonly hint: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${reason}: ${hint}`, [{ file, line: Math.max(line, 1), col: 1, message: `${reason}: ${hint}` }])
  }
}

const EVENT_TYPE = /^[a-z]+(\.[a-z-]+)?$/

/**
 * Reads a journal. A torn last line (a crash mid-write) is skipped, not fatal; anything else
 * that is not a journal event — a garbage or `null` line, an empty file, a directory, a missing
 * file — is a JournalError with file:line and what to do.
 */
export function readJournal(path: string): JournalEvent[] {
  let text: string
  try {
    if (statSync(path).isDirectory()) throw new JournalError(path, 0, 'is a directory, not a journal', 'give the run directory or its journal.jsonl file')
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (err instanceof JournalError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new JournalError(path, 0, 'no such journal', 'check the run directory (reports/<run-id>/journal.jsonl)')
    throw new JournalError(path, 0, `cannot read: ${code ?? (err as Error).message}`, 'check the file and its permissions')
  }
  const lines = text.split('\n')
  const events: JournalEvent[] = []
  const lastContent = lines.findLastIndex((l) => l.trim() !== '')
  lines.forEach((line, i) => {
    if (!line.trim()) return
    let event: unknown
    try {
      event = JSON.parse(line)
    } catch (err) {
      if (i === lastContent && !text.endsWith('\n')) return // torn by a crash mid-write
      throw new JournalError(path, i + 1, `not a journal event (${(err as Error).message})`, 'the journal was edited or is not a journal')
    }
    const type = (event as { type?: unknown } | null)?.type
    if (event === null || typeof event !== 'object' || Array.isArray(event) || typeof type !== 'string' || !EVENT_TYPE.test(type)) {
      throw new JournalError(
        path,
        i + 1,
        `not a journal event: ${line.length > 60 ? line.slice(0, 60) + '…' : line}`,
        'each line is a JSON object with a "type"',
      )
    }
    events.push(event as JournalEvent)
  })
  if (!events.length) throw new JournalError(path, 0, 'the journal is empty', 'the run wrote nothing: it never started, or this is not its directory')
  return events
}
