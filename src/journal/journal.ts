/**
 * Writing and reading the journal (reports/<run-id>/journal.jsonl).
 * Each event is written with a synchronous append so it is in the OS before the next action
 * starts; fault events are also fsync'ed, because `gameday recover` depends on them surviving
 * even a machine crash.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs'
import type { JournalEvent } from './events.ts'

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

/** Reads a journal; a torn last line (a crash mid-write) is skipped, not fatal. */
export function readJournal(path: string): JournalEvent[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const events: JournalEvent[] = []
  lines.forEach((line, i) => {
    if (!line.trim()) return
    try {
      events.push(JSON.parse(line) as JournalEvent)
    } catch (err) {
      if (i < lines.length - 2) throw new Error(`${path}:${i + 1}: not a journal event: ${(err as Error).message}`, { cause: err })
    }
  })
  return events
}
