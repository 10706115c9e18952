/**
 * A run directory as `report` and `recover` are given it: checked step by step (it exists, is a
 * directory, holds a readable, non-empty journal of events, one of them run.started) so that
 * each way it can be wrong is one sentence naming the file and line, not a stack trace.
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { GamedayError } from '../api/errors.ts'
import type { EventOf, JournalEvent } from '../journal/events.ts'
import { readJournal } from '../journal/journal.ts'
import { CliError, type Positioned } from './errors.ts'
import { relativeToCwd } from './output.ts'

export interface RunDir {
  dir: string
  journal: string
  events: JournalEvent[]
  started: EventOf<'run.started'>
}

const WHAT_IT_IS = 'a run directory is what `gameday run` leaves in reports/<run-id>/, with journal.jsonl in it'

function kindOf(path: string): 'missing' | 'directory' | 'file' | 'other' {
  try {
    const s = statSync(path)
    return s.isDirectory() ? 'directory' : s.isFile() ? 'file' : 'other'
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return 'missing'
    throw err
  }
}

/** line numbers of the non-blank lines, in order: the n-th event was read from line lines[n] */
function eventLines(text: string): number[] {
  const lines: number[] = []
  text.split('\n').forEach((l, i) => l.trim() && lines.push(i + 1))
  return lines
}

export function openRunDir(dir: string): RunDir {
  const shown = relativeToCwd(dir)
  const kind = kindOf(dir)
  if (kind === 'missing') throw new CliError(`${shown}: no such run directory`, { hint: WHAT_IT_IS })
  if (kind !== 'directory') {
    const hint = dir.endsWith('.jsonl') ? `give the directory the journal is in: ${relativeToCwd(dirname(dir))}` : WHAT_IT_IS
    throw new CliError(`${shown}: not a directory`, { hint })
  }
  const journal = join(dir, 'journal.jsonl')
  const shownJournal = relativeToCwd(journal)
  const journalKind = kindOf(journal)
  if (journalKind === 'missing') throw new CliError(`${shown}: no journal.jsonl, so not a run directory`, { hint: WHAT_IT_IS })
  if (journalKind !== 'file')
    throw new CliError(`${shownJournal}: is a ${journalKind === 'directory' ? 'directory' : 'special file'}, not a journal`, { hint: WHAT_IT_IS })

  const text = readFileSync(journal, 'utf8')
  if (!text.trim()) {
    throw new CliError(`${shownJournal}: empty: the run was stopped before it journaled anything`, {
      hint: 'there is nothing to report or recover: no fault is injected before the journal records it',
    })
  }
  const damaged = (issue: Positioned, cause?: unknown) =>
    new CliError(issue.message, {
      issues: [issue],
      hint: 'the journal is damaged there (only `gameday run` and `gameday recover` write it): restore it from a copy, or remove that line',
      cause,
    })
  let events: JournalEvent[]
  try {
    events = readJournal(journal)
  } catch (err) {
    const issues = (err as { issues?: Positioned[] }).issues
    if (issues?.length) throw damaged({ ...issues[0], file: relativeToCwd(issues[0].file) }, err)
    // today's reader says `path:line: not a journal event: …`; keep its line, name the file as given
    const message = (err as Error).message ?? String(err)
    const at = /^(.*?):(\d+): (.*)$/s.exec(message)
    if (at) throw damaged({ file: shownJournal, line: Number(at[2]), message: at[3] }, err)
    if (err instanceof GamedayError) throw damaged({ file: shownJournal, line: 1, message }, err)
    throw err
  }
  const lines = eventLines(text)
  const bad = events.findIndex((e) => e === null || typeof e !== 'object' || Array.isArray(e) || typeof (e as { type?: unknown }).type !== 'string')
  if (bad >= 0) {
    throw damaged({ file: shownJournal, line: lines[bad] ?? 1, message: `not a journal event: ${JSON.stringify(events[bad]).slice(0, 60)}` })
  }
  const started = events.find((e): e is EventOf<'run.started'> => e.type === 'run.started')
  if (!started) {
    throw new CliError(`${shownJournal}: no run.started event, so not the journal of a run`, { hint: WHAT_IT_IS })
  }
  // every report starts from these: say which is missing here, not where a report trips on it later
  const missing = (['runId', 'experiment', 'environment'] as const).filter((k) => typeof started[k] !== 'string')
  if (typeof started.seed !== 'number') missing.push('seed' as never)
  if (missing.length) {
    const line = lines[events.indexOf(started)] ?? 1
    throw damaged({ file: shownJournal, line, message: `run.started without ${missing.join(', ')}: not written by \`gameday run\`` })
  }
  return { dir, journal, events, started }
}
